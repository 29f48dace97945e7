"""app.json: its `formation` (the first deploy's scale, as Heroku reads it) and its web
`healthchecks` (the startup check a new release must pass, as Dokku reads it)."""

import json
from collections.abc import Callable
from pathlib import Path

from api.validation import DYNO_SIZES

Log = Callable[[str], None]


def app_json(path: Path, log: Log) -> dict:
    """Return app.json's content, or {} when it is missing or not a JSON object."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except ValueError as e:
        log(f" !     app.json is not valid JSON ({e}); ignoring it")
        return {}
    if not isinstance(data, dict):
        log(" !     app.json is not a JSON object; ignoring it")
        return {}
    return data


def app_json_formation(data: dict, process_types: dict, log: Log) -> dict[str, dict]:
    """Return app.json's valid formation entries; warn about (and skip) the others."""
    formation = data.get("formation", {})
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


def app_json_healthcheck(data: dict, log: Log) -> dict:
    """Return the web startup check: {"path", "content", "boot_timeout"} (each optional).

    Dokku's shape: ``{"healthchecks": {"web": [{"type": "startup", "path": "/health",
    "content": "ok", "timeout": 60}]}}``. Without one, a web process is healthy once it
    accepts TCP connections on PORT.
    """
    checks = data.get("healthchecks", {})
    web = checks.get("web", []) if isinstance(checks, dict) else None
    if not isinstance(web, list):
        log(" !     app.json healthchecks.web must be a list of checks; ignoring it")
        return {}
    for check in web:
        if not isinstance(check, dict) or check.get("type", "startup") != "startup":
            continue
        path, content = check.get("path", "/"), check.get("content", "")
        timeout = check.get("timeout", 60)
        if not (isinstance(path, str) and path.startswith("/") and " " not in path
                and isinstance(content, str)
                and isinstance(timeout, int | float) and 0 < timeout <= 600):
            log(" !     app.json startup check ignored: needs a path starting with /, "
                "text content and a timeout of 1-600 s")
            return {}
        return {"path": path, "content": content, "boot_timeout": float(timeout)}
    return {}
