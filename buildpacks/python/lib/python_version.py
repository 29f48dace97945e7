"""Check the Python version an app asks for against the stack's python3.

Run by bin/compile with the stack's python3: `python3 python_version.py BUILD_DIR`.
Prints what it found; exits 1 when the stack cannot provide the requested version.
Pure functions, so the checks are unit-tested outside a build container.
"""

import re
import sys
from pathlib import Path

# .python-version first, like Heroku's Python buildpack; runtime.txt is the old way.
VERSION_FILES = (".python-version", "runtime.txt")
_VERSION = re.compile(r"^(?:python-?)?(\d+)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?$", re.IGNORECASE)


class VersionError(ValueError):
    pass


def parse_request(text: str) -> tuple[int, int | None, int | None]:
    """Return (major, minor, patch) from `3.11`, `3.11.2` or `python-3.11.2`."""
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    if not lines:
        raise VersionError("the file is empty")
    match = _VERSION.match(lines[0])
    if not match:
        raise VersionError(
            f"{lines[0]!r} is not a Python version (use a form like 3.11 or python-3.11.2)"
        )
    major, minor, patch = (int(g) if g and g.isdigit() else None for g in match.groups())
    return major, minor, patch


def read_request(build_dir: Path) -> tuple[str, tuple[int, int | None, int | None]] | None:
    """Return (file name, requested version) from the first version file, if any."""
    for name in VERSION_FILES:
        path = build_dir / name
        if path.is_file():
            try:
                return name, parse_request(path.read_text())
            except VersionError as e:
                raise VersionError(f"{name}: {e}") from e
    return None


def check(
    requested: tuple[int, int | None, int | None], available: tuple[int, int, int]
) -> tuple[bool, str | None]:
    """Return (usable, message): a different major.minor is unusable, a patch only warns."""
    have = ".".join(map(str, available))
    major, minor, patch = requested
    want = ".".join(str(p) for p in requested if p is not None)
    if major != available[0] or (minor is not None and minor != available[1]):
        return False, (
            f"Python {want} is not available on this stack, which provides Python {have} "
            f"only. Ask for {available[0]}.{available[1]} instead."
        )
    if patch is not None and patch != available[2]:
        return True, f"Python {want} was requested; this stack provides {have}, using that."
    return True, None


def main(argv: list[str]) -> int:
    have = tuple(sys.version_info[:3])
    have_text = ".".join(map(str, have))
    try:
        found = read_request(Path(argv[1]))
    except VersionError as e:
        print(f" !     {e}")
        return 1
    if found is None:
        print(f"       No .python-version or runtime.txt: using the stack's Python {have_text}")
        return 0
    name, requested = found
    usable, message = check(requested, have)
    if not usable:
        print(f" !     {name}: {message}")
        return 1
    if message:
        print(f" !     Warning: {name}: {message}")
    print(f"       Using Python {have_text} (asked for in {name})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
