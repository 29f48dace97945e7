"""Read an app's log stream: recent history, then a live tail with no gap and no repeat."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from logs.feed import Feeds, trimmed_after
from runtime.applog import LogLine, id_after, now_timestamp, stream_key, text

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
            boundary = text(batch[0][0])
        for entry_id, fields in batch:
            line = LogLine.from_entry(entry_id, fields)
            if flt.matches(line):
                found.append(line)
                if len(found) == lines:
                    break
        upper = "(" + text(batch[-1][0])
    found.reverse()
    return found, boundary or "0-0"


async def tail(
    client, feeds: Feeds, app: str, after: str, flt: LogFilter
) -> AsyncIterator[list[LogLine] | None]:
    """Yield batches of lines newer than ``after`` as they arrive; None after an idle wait.

    Lines up to where the worker's shared feed of the app began are read here; the feed
    brings the rest. A tail too slow for the feed is cut loose and reads from Redis again;
    if the stream's cap trimmed lines it never sent, it says so in a ``pier[logs]`` line.
    """
    key, last = stream_key(app), after
    while True:
        sub = await feeds.subscribe(app)
        try:
            while True:
                trimmed = await trimmed_after(client, key, last)
                entries = await client.xrange(key, min="(" + last, max="+", count=HISTORY_BATCH)
                if not entries:
                    break
                if trimmed:
                    yield [_skipped_notice(last)]
                last = text(entries[-1][0])
                lines = [line for line in map(_line, entries) if flt.matches(line)]
                if lines:
                    yield lines
            while not sub.lagged:
                try:
                    batch = await asyncio.wait_for(sub.get(), TAIL_BLOCK_MS / 1000)
                except TimeoutError:
                    yield None
                    continue
                if batch is None:
                    break
                fresh = [e for e in batch if id_after(text(e[0]), last)]
                if not fresh:
                    continue
                last = text(fresh[-1][0])
                lines = [line for line in map(_line, fresh) if flt.matches(line)]
                if lines:
                    yield lines
        finally:
            feeds.unsubscribe(app, sub)


def _skipped_notice(last: str) -> LogLine:
    return LogLine(id=last, timestamp=now_timestamp(), source="pier", dyno="logs",
                   message="Some lines were skipped: this tail fell behind the app's log "
                           "buffer. Filter with -s/-d, or raise PIER_LOG_BUFFER.")


def _line(entry) -> LogLine:
    return LogLine.from_entry(*entry)

