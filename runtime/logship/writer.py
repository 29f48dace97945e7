"""The Redis writer: lines of every app into their streams, in batches, never blocking.

While Redis is unavailable it keeps a bounded number of lines per app, drops the oldest
beyond that and, once Redis is back, says how many in a ``pier[logs]`` line. Each batch
also stores, in the same pipeline, the position its producer reached (``SINCE_KEY``), so
a restarted shipper resumes where the store left off.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from collections.abc import Iterable
from typing import NamedTuple

import redis

from runtime import applog

logger = logging.getLogger(__name__)

# field -> position: a container's last shipped Docker timestamp, a log file's inode:offset
SINCE_KEY = "pier:logship:since"
LOGS_DYNO = "logs"


class Line(NamedTuple):
    app: str
    source: str
    dyno: str
    timestamp: str
    message: str


# One round trip per batch: redis-py packs a command in ~50 us, too slow for 20 000 lines/s.
# Same fields as applog.append.
APPEND_SCRIPT = """
local lines = cjson.decode(ARGV[2])
for _, l in ipairs(lines) do
  redis.call('XADD', KEYS[l[1]], 'MAXLEN', '~', ARGV[1], '*',
             'ts', l[2], 'source', l[3], 'dyno', l[4], 'line', l[5])
end
if ARGV[3] ~= '' then
  for field, value in pairs(cjson.decode(ARGV[3])) do
    redis.call('HSET', KEYS[1], field, value)
  end
end
return #lines
"""


class StreamWriter:
    """Write lines to the apps' streams in batches: every ``batch`` lines or ``interval``.

    At most ``limit`` unwritten lines are kept per app; older ones are dropped and counted
    (``dropped_total``), and reported in the app's stream after the next good write.
    """

    def __init__(self, client, *, batch: int = 1000, interval: float = 0.05,
                 limit: int = 10_000, retry: float = 1.0,
                 maxlen: int = applog.DEFAULT_MAXLEN) -> None:
        self.client = client
        self.batch, self.interval, self.limit, self.retry = batch, interval, limit, retry
        self.maxlen = maxlen
        self.dropped_total = 0
        self.written_total = 0
        self._script = client.register_script(APPEND_SCRIPT)
        self._pending: dict[str, deque[Line]] = {}
        self._count = 0
        self._dropped: dict[str, int] = {}
        self._marks: dict[str, str] = {}
        self._cond = threading.Condition()

    def put(self, lines: Iterable[Line], mark: tuple[str, str] | None = None) -> None:
        """Queue lines; ``mark`` (field, value) goes to SINCE_KEY once they are written."""
        with self._cond:
            for line in lines:
                queue = self._pending.get(line.app)
                if queue is None:
                    queue = self._pending[line.app] = deque()
                queue.append(line)
                self._count += 1
                if len(queue) > self.limit:
                    self._drop(queue, 1)
            if mark:
                self._marks[mark[0]] = mark[1]
            if self._count >= self.batch:
                self._cond.notify()

    @property
    def pending(self) -> int:
        return self._count

    def _drop(self, queue: deque[Line], n: int) -> None:
        for _ in range(n):
            line = queue.popleft()
            self._count -= 1
            self.dropped_total += 1
            self._dropped[line.app] = self._dropped.get(line.app, 0) + 1

    def _take(self):
        with self._cond:
            taken = [line for queue in self._pending.values() for line in queue]
            dropped, marks = self._dropped, self._marks
            self._pending, self._count, self._dropped, self._marks = {}, 0, {}, {}
        return taken, dropped, marks

    def _give_back(self, taken: list[Line], dropped: dict[str, int], marks: dict) -> None:
        with self._cond:
            for app, n in dropped.items():
                self._dropped[app] = self._dropped.get(app, 0) + n
            self._marks = {**marks, **self._marks}
            newer, self._pending, self._count = self._pending, {}, 0
            for line in taken + [line for queue in newer.values() for line in queue]:
                self._pending.setdefault(line.app, deque()).append(line)
                self._count += 1
            for queue in self._pending.values():
                if len(queue) > self.limit:
                    self._drop(queue, len(queue) - self.limit)

    def flush(self) -> bool:
        """Write everything pending; return False (keeping the lines) when Redis fails."""
        taken, dropped, marks = self._take()
        if not taken and not dropped and not marks:
            return True
        lines = list(taken)
        for app, n in dropped.items():
            lines.append(Line(app, "pier", LOGS_DYNO, applog.now_timestamp(),
                              f"{n} lines dropped while the log store was unavailable"))
        try:
            self._write(lines, marks)
        except (redis.RedisError, OSError) as e:
            logger.warning("log store unavailable, buffering: %s", e)
            self._give_back(taken, dropped, marks)
            return False
        self.written_total += len(taken)
        return True

    def _write(self, lines: list[Line], marks: dict[str, str]) -> None:
        keys: dict[str, int] = {SINCE_KEY: 1}
        rows = []
        for line in lines:
            index = keys.setdefault(applog.stream_key(line.app), len(keys) + 1)
            message = applog.escape_controls(line.message)  # app and router lines alike
            pieces = [message] if len(message) <= applog.MAX_LINE_CHARS else (
                applog.split_message(message))
            rows.extend([index, line.timestamp, line.source, line.dyno, piece]
                        for piece in pieces)
        pipe = self.client.pipeline(transaction=False)
        for start in range(0, max(len(rows), 1), self.batch):
            last = start + self.batch >= len(rows)
            args = [self.maxlen, json.dumps(rows[start : start + self.batch],
                                            ensure_ascii=False),
                    json.dumps(marks) if (marks and last) else ""]
            self._script(keys=list(keys), args=args, client=pipe)
        pipe.execute()

    def run(self, stop: threading.Event) -> None:
        """Flush until ``stop`` is set, then once more."""
        while not stop.is_set():
            with self._cond:
                if self._count < self.batch:
                    self._cond.wait(self.interval)
            if not self.flush():
                stop.wait(self.retry)
        self.flush()
