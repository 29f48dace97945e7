"""A build's output: kept in a file for later, and streamed live through a Redis stream."""

from collections.abc import Callable, Iterator
from pathlib import Path

import redis

from runtime.applog import escape_controls

# A build that prints megabytes must not grow Redis without bound; the file keeps it all.
STREAM_MAXLEN = 50_000
STREAM_TTL_SECONDS = 24 * 3600


def stream_key(build_id: str) -> str:
    return f"pier:build:{build_id}:log"


class BuildLogWriter:
    """Append lines of one build's output to its file and its Redis stream."""

    def __init__(self, client: redis.Redis, build_id: str, path: Path):
        self.client = client
        self.key = stream_key(build_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file = path.open("a", encoding="utf-8", errors="replace")

    def write(self, line: str) -> None:
        """Append one line; control characters in it are escaped (no forged lines, no
        escape sequences for the terminals that show it)."""
        line = escape_controls(line.rstrip("\n"))
        self.file.write(line + "\n")
        self.file.flush()
        self.client.xadd(self.key, {"line": line}, maxlen=STREAM_MAXLEN, approximate=True)

    def close(self, status: str) -> None:
        """Mark the end of the output so that followers stop, with the build's final status."""
        self.file.close()
        self.client.xadd(self.key, {"end": status}, maxlen=STREAM_MAXLEN, approximate=True)
        self.client.expire(self.key, STREAM_TTL_SECONDS)


class CappedOutput:
    """Pass lines on until max_bytes of them; then one note line, and drop the rest.

    A build prints what its buildpacks print: without a cap one build could fill the disk.
    """

    def __init__(self, write: Callable[[str], None], max_bytes: int):
        self.write_line, self.left, self.truncated = write, max_bytes, False

    def write(self, line: str) -> None:
        if self.truncated:
            return
        self.left -= len(line.encode("utf-8", "replace")) + 1
        if self.left >= 0:
            self.write_line(line)
            return
        self.truncated = True
        self.write_line(
            " !     The rest of this build's output is left out: it passed PIER_MAX_BUILD_LOG_MB."
        )


def follow(client: redis.Redis, build_id: str, block_ms: int = 5000) -> Iterator[str | None]:
    """Yield output lines as they arrive; None on each idle wait; stop at the end marker.

    The caller decides how long to keep waiting: it sees a None every block_ms.
    Returns the final status through StopIteration.value.
    """
    key, last_id = stream_key(build_id), "0"
    while True:
        batch = client.xread({key: last_id}, block=block_ms, count=500)
        if not batch:
            yield None
            continue
        for entry_id, fields in batch[0][1]:
            last_id = entry_id
            if "end" in fields:
                return fields["end"]
            yield fields["line"]


def read_file(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
