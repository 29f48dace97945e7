"""Durations as people type them (``90``, ``90s``, ``30m``, ``24h``, ``7d``), for the
metrics API and the CLI alike."""

import re

DURATION_RE = re.compile(r"^(\d+)([smhd]?)$")
UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def seconds(value) -> int | None:
    """Return the positive number of seconds ``value`` means, or None when it means none."""
    match = DURATION_RE.match(str(value).strip().lower())
    if not match or int(match[1]) == 0:
        return None
    return int(match[1]) * UNITS[match[2]]
