"""Which buildpacks an app asks for: the BUILDPACK_URL config var or a `.buildpacks` file."""

from pathlib import Path

BUILDPACKS_FILE = ".buildpacks"


def parse_buildpacks_file(text: str) -> list[str]:
    """Return the buildpacks listed in a `.buildpacks` file, one per line, in order.

    Blank lines and lines starting with `#` are skipped; a `#` inside a line is a git ref
    (`https://host/buildpack.git#v12`), so it is kept.
    """
    specs = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            specs.append(line)
    return specs


def requested_buildpacks(*, env: dict[str, str], source_dir: Path) -> list[str]:
    """Return the buildpacks the app names, or [] to detect among the built-in ones.

    BUILDPACK_URL wins over `.buildpacks`, like on Heroku.
    """
    url = env.get("BUILDPACK_URL", "").strip()
    if url:
        return [url]
    path = source_dir / BUILDPACKS_FILE
    if path.is_file():
        return parse_buildpacks_file(path.read_text())
    return []
