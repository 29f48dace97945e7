"""Print requirements.txt and every file it pulls in with -r/-c, one path per line.

The virtualenv's cache key hashes these files: a change in an included file (say
`-r requirements/base.txt`) must reinstall, exactly as a change in requirements.txt does.
Paths are relative to the app; an include that is missing is printed too (pip then fails
with its own message) and one outside the app is not followed.
"""

import shlex
import sys
from pathlib import Path

OPTIONS = {"-r": "-r", "--requirement": "-r", "-c": "-c", "--constraint": "-c"}


def includes(line: str) -> list[str]:
    """Return the files a requirements line names: -r F, -rF, --requirement[=]F, same for -c."""
    try:
        words = shlex.split(line, comments=True)
    except ValueError:
        return []
    found = []
    for index, word in enumerate(words):
        option, _, value = word.partition("=")
        if option in OPTIONS and value:
            found.append(value)
        elif word in OPTIONS and index + 1 < len(words):
            found.append(words[index + 1])
        elif word[:2] in ("-r", "-c") and len(word) > 2 and word[2] != "-":
            found.append(word[2:])
    return found


def requirement_files(root: Path, first: str) -> list[str]:
    root = root.resolve()
    seen: list[str] = []
    pending = [root / first]
    while pending:
        path = pending.pop(0)
        try:
            name = str(path.resolve().relative_to(root))
        except ValueError:
            continue  # outside the app: not part of its source
        if name in seen:
            continue
        seen.append(name)
        if path.is_file():
            for line in path.read_text(errors="replace").splitlines():
                pending += [path.parent / include for include in includes(line)]
    return seen


if __name__ == "__main__":
    print("\n".join(requirement_files(Path(sys.argv[1]), sys.argv[2])))
