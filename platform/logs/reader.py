"""Read an app's log stream: recent history, then a live tail with no gap and no repeat."""

from collections.abc import AsyncIterator
from dataclasses import dataclass

from runtime.applog import LogLine, stream_key

HISTORY_BATCH = 1000
TAIL_BLOCK_MS = 15_000


@dataclass(frozen=True)
class LogFilter:
    source: str = ""
    dyno: str = ""

    def matches(self, line: LogLine) -> bool:
        if self.source and line.source != self.source:
            return False
        # `-d web` means every web process, `-d web.2` just that one (as on Heroku).
        if self.dyno and line.dyno != self.dyno and line.dyno.split(".")[0] != self.dyno:
            return False
        return True


async def history(client, app: str, lines: int, flt: LogFilter) -> tuple[list[LogLine], str]:
    """Return the last `lines` matching lines, oldest first, and the id a tail continues from.

    The id is the newest entry in the stream (matching or not), so that a tail reading after
    it neither misses a line written meanwhile nor repeats one.
    """
    key, found, upper, boundary = stream_key(app), [], "+", None
    while len(found) < lines:
        batch = await client.xrevrange(key, max=upper, min="-", count=HISTORY_BATCH)
        if not batch:
            break
        if boundary is None:
            boundary = _text(batch[0][0])
        for entry_id, fields in batch:
            line = LogLine.from_entry(entry_id, fields)
            if flt.matches(line):
                found.append(line)
                if len(found) == lines:
                    break
        upper = "(" + _text(batch[-1][0])
    found.reverse()
    return found, boundary or "0-0"


async def tail(client, app: str, after: str, flt: LogFilter) -> AsyncIterator[LogLine | None]:
    """Yield lines newer than `after` as they arrive; None after each idle wait (keep-alive)."""
    key, last = stream_key(app), after
    while True:
        result = await client.xread({key: last}, block=TAIL_BLOCK_MS, count=HISTORY_BATCH)
        if not result:
            yield None
            continue
        for entry_id, fields in result[0][1]:
            last = _text(entry_id)
            line = LogLine.from_entry(entry_id, fields)
            if flt.matches(line):
                yield line


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value
