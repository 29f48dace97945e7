"""Parse Procfiles and buildpacks' `bin/release` output into process types."""

import json
import re

_PROCFILE_LINE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+)$")
_YAML_PAIR = re.compile(r"^([A-Za-z0-9_-]+)\s*:\s*(.*)$")


class ProcfileError(ValueError):
    pass


def parse_procfile(text: str) -> dict[str, str]:
    """Return {process type: command} from a Procfile; a later duplicate type wins."""
    processes: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _PROCFILE_LINE.match(line)
        if not match:
            raise ProcfileError(f"Procfile line {number} is not `type: command`: {raw!r}")
        processes[match[1]] = match[2].strip()
    return processes


def _scalar(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return json.loads(value)
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    return value


def parse_release(text: str) -> dict[str, str]:
    """Return `default_process_types` from the YAML that a buildpack's bin/release prints.

    Reads the subset buildpacks use: a block mapping of `type: command` lines (plain or
    quoted) under the key, or an empty `{}`; other keys are ignored.
    """
    processes: dict[str, str] = {}
    inside = False
    for raw in text.splitlines():
        if not raw.strip() or raw.lstrip().startswith("#") or raw.strip() == "---":
            continue
        if not raw[0].isspace():
            key, _, rest = raw.partition(":")
            inside = key.strip() == "default_process_types" and rest.strip() in ("", "{}")
            continue
        if inside:
            match = _YAML_PAIR.match(raw.strip())
            if match and match[2]:
                processes[match[1]] = _scalar(match[2])
    return processes


def merge_process_types(*layers: dict[str, str]) -> dict[str, str]:
    """Merge process types; a later layer (the Procfile last) overrides earlier ones."""
    merged: dict[str, str] = {}
    for layer in layers:
        merged.update(layer)
    return merged
