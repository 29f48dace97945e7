"""app.json, as Heroku reads it: here only its `formation`, the first deploy's scale."""

import json
from collections.abc import Callable
from pathlib import Path

from api.validation import DYNO_SIZES


def app_json_formation(
    path: Path, process_types: dict, log: Callable[[str], None]
) -> dict[str, dict]:
    """Return app.json's valid formation entries; warn about (and skip) the others."""
    if not path.is_file():
        return {}
    try:
        formation = json.loads(path.read_text()).get("formation", {})
    except (ValueError, AttributeError) as e:
        log(f" !     app.json is not valid JSON ({e}); ignoring it")
        return {}
    result = {}
    for ptype, entry in formation.items() if isinstance(formation, dict) else []:
        quantity = entry.get("quantity", 1) if isinstance(entry, dict) else None
        size = (entry.get("size") or "standard").lower() if isinstance(entry, dict) else None
        if ptype not in process_types or not isinstance(quantity, int) or not 0 <= quantity <= 100:
            log(f" !     app.json formation for {ptype!r} ignored: unknown type or bad quantity")
            continue
        if size not in DYNO_SIZES:
            log(f" !     app.json size {size!r} for {ptype} is unknown; using standard")
            size = "standard"
        result[ptype] = {"quantity": quantity, "size": size}
    return result
