"""Ship app output and the router's access log into the apps' log streams.

:class:`Shipper` follows every container labelled ``pier.app`` and ``pier.process`` (one
thread each, found by Docker events plus a periodic rescan) and appends each stdout and
stderr line to the stream of its ``pier.app-id`` label, ``pier:logs:<app id>``, as
``app[<type>.<index>]``. :class:`AccessLogTail` turns each JSON line of Caddy's access
log into a Heroku-style ``router`` line, for the app id the router logs. Both hand
lines to one :class:`StreamWriter`, which writes them in Redis pipelines.

The app is never slowed down: Docker keeps writing its log file whatever we do, and while
Redis is unavailable the writer keeps a bounded number of lines per app, drops the oldest
beyond that and, once Redis is back, says how many in a ``pier[logs]`` line. The
last shipped Docker timestamp of each container (and the access log's inode and offset)
is kept in the hash ``pier:logship:since`` in the same pipeline as the lines, so a
restarted shipper resumes where the store left off instead of shipping old lines again.
One-off containers (``pier.oneoff``, e.g. ``pier run``) are not shipped: their output goes
to whoever ran them.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import logging
import os
import struct
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import NamedTuple

import redis

from runtime import applog
from runtime.backends.docker import app_key

logger = logging.getLogger(__name__)

SINCE_KEY = "pier:logship:since"
LOGS_DYNO = "logs"
HEADER = struct.Struct(">BxxxL")


# -- pure helpers ---------------------------------------------------------------------


def docker_timestamp(raw: str) -> str:
    """Turn Docker's ``2026-11-28T01:02:03.123456789Z`` into ``...03.123456+00:00``."""
    date, _, fraction = raw.rstrip("Z").partition(".")
    return f"{date}.{(fraction + '000000')[:6]}+00:00"


def docker_since(raw: str) -> str:
    """Return Docker's ``since`` parameter (``seconds.nanoseconds``) for a log timestamp."""
    date, _, fraction = raw.rstrip("Z").partition(".")
    seconds = int(datetime.fromisoformat(date).replace(tzinfo=UTC).timestamp())
    return f"{seconds}.{(fraction + '000000000')[:9]}"


def epoch_timestamp(value: float | str | None) -> str:
    """Return Caddy's ``ts`` (epoch seconds, or already text) in the log line format."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).isoformat(timespec="microseconds")
    return str(value) if value else applog.now_timestamp()


def iter_frames(chunks: Iterable[bytes]) -> Iterator[list[tuple[int, bytes]]]:
    """Yield the complete ``(stream, payload)`` frames of Docker's multiplexed stream that
    each chunk brings (stream 1 is stdout, 2 stderr)."""
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        frames, start, size = [], 0, len(buffer)
        while size - start >= 8:
            stream, length = HEADER.unpack_from(buffer, start)
            end = start + 8 + length
            if end > size:
                break
            frames.append((stream, bytes(buffer[start + 8 : end])))
            start = end
        del buffer[:start]
        if frames:
            yield frames


def dechunk(reads: Iterable[bytes]) -> Iterator[bytes]:
    """Yield the data of an HTTP/1.1 chunked body, as much as each read brings."""
    buffer, remaining, skip = bytearray(), 0, 0
    for data in reads:
        buffer += data
        pieces, pos, end = [], 0, len(buffer)
        while pos < end:
            if remaining:
                n = min(remaining, end - pos)
                pieces.append(bytes(buffer[pos : pos + n]))
                pos, remaining = pos + n, remaining - n
                skip = 0 if remaining else 2  # the CRLF after the chunk's data
            elif skip:
                n = min(skip, end - pos)
                pos, skip = pos + n, skip - n
            else:
                eol = buffer.find(b"\r\n", pos)
                if eol < 0:
                    break
                remaining = int(bytes(buffer[pos:eol]).split(b";")[0], 16)
                pos = eol + 2
                if remaining == 0:
                    if pieces:
                        yield b"".join(pieces)
                    return
        del buffer[:pos]
        if pieces:
            yield b"".join(pieces)


def body_chunks(response) -> Iterator[bytes]:
    """Yield a streaming requests response's body as it arrives.

    Docker sends each log line as its own HTTP chunk; decoding them with urllib3 costs
    more than everything else here, so chunked bodies are read in large pieces from the
    connection and decoded here (what docker-py does to reach the socket, too).
    """
    conn = getattr(response.raw, "_fp", None)
    reader = getattr(conn, "fp", None)
    if not getattr(conn, "chunked", False) or not hasattr(reader, "read1"):
        yield from response.iter_content(None)
        return
    yield from dechunk(iter(lambda: reader.read1(1 << 16), b""))


class LineJoiner:
    """Join Docker's partial-line pieces of one stream into whole lines.

    Text is decoded incrementally (a piece may end inside a character), bad bytes become
    U+FFFD, and a line longer than ``applog.MAX_LINE_CHARS`` leaves in pieces of that size
    as soon as they are complete, so a line without end never fills memory.
    """

    def __init__(self, limit: int = applog.MAX_LINE_CHARS) -> None:
        self.limit = limit
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._pending = ""
        self._ts: str | None = None
        self._split = False  # part of the pending line already left

    def feed(self, data: bytes, ts: str) -> list[tuple[str, str]]:
        """Return the ``(first piece's timestamp, text)`` lines that ``data`` completes."""
        if (self._ts is None and len(data) <= self.limit and data.endswith(b"\n")
                and data.count(b"\n") == 1):  # the usual case: one whole, short line
            return [(ts, data[:-1].decode("utf-8", "replace").removesuffix("\r"))]
        if self._ts is None:
            self._ts = ts
        *complete, rest = (self._pending + self._decoder.decode(data)).split("\n")
        out: list[tuple[str, str]] = []
        for line in complete:
            line = line.removesuffix("\r")
            pieces = [line[i : i + self.limit] for i in range(0, len(line), self.limit)]
            if pieces or not self._split:  # not the empty end of a line already cut
                out.extend((self._ts, piece) for piece in pieces or [""])
            self._ts, self._split = ts, False
        while len(rest) > self.limit:
            out.append((self._ts, rest[: self.limit]))
            rest, self._split = rest[self.limit :], True
        self._pending = rest
        if not rest and not self._split and not self._decoder.getstate()[0]:
            self._ts = None
        return out


def router_line(
    entry: dict, dyno_for: Callable[[str], str | None] | None = None
) -> tuple[str, str, str] | None:
    """Return ``(app, timestamp, message)`` for one router access log entry, or None.

    Entries have the shape of Caddy's JSON access log (HAProxy's log-format writes the
    same fields, with ``duration_ms``; ``-`` is its "no value"). The message reads like
    Heroku's router lines. ``upstream`` and ``upstream_duration`` (ms) are used when the
    router logs them; ``dyno_for`` maps an upstream address to its dyno.
    """
    app = entry.get("pier_app")
    request = entry.get("request")
    if not app or app == "-" or not isinstance(request, dict):
        return None
    status = int(entry.get("status") or 0)
    upstream = entry.get("upstream") or ""
    if upstream.startswith("-"):
        upstream = ""
    at = "error" if status >= 502 and not upstream else "info"  # no process answered
    path = str(request.get("uri", "")).replace('"', "%22")
    fields = [
        f"at={at}",
        f"method={request.get('method', '')}",
        f'path="{path}"',
        f"host={request.get('host', '')}",
        f"request_id={entry.get('request_id') or '-'}",
        f'fwd="{request.get("client_ip") or request.get("remote_ip", "")}"',
    ]
    dyno = dyno_for(upstream) if (upstream and dyno_for) else None
    if dyno:
        fields.append(f"dyno={dyno}")
    connect = entry.get("connect_ms")  # HAProxy's; -1 when no process was connected to
    if isinstance(connect, int | float) and connect >= 0:
        fields.append(f"connect={round(connect)}ms")
    service = entry.get("upstream_duration")
    if service is None or float(service) < 0:  # no process answered
        service = entry.get("duration_ms")
    if service is None:
        service = float(entry.get("duration") or 0) * 1000
    fields += [
        f"service={round(float(service))}ms",
        f"status={status}",
        f"bytes={int(entry.get('size') or 0)}",
        f"protocol={'https' if request.get('tls') else 'http'}",
    ]
    return app, epoch_timestamp(entry.get("ts")), " ".join(fields)


# -- writing to Redis -----------------------------------------------------------------


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


# -- following containers -------------------------------------------------------------


class Follower(threading.Thread):
    """Read one container's stdout and stderr from ``since`` until it stops."""

    def __init__(self, api, container_id: str, app: str, dyno: str, since: str | None,
                 writer: StreamWriter, on_exit: Callable[[Follower], None]) -> None:
        super().__init__(name=f"logship-{app}-{dyno}", daemon=True)
        self.api, self.container_id, self.app, self.dyno = api, container_id, app, dyno
        self.since, self.writer, self.on_exit = since, writer, on_exit
        self._response = None

    def run(self) -> None:
        try:
            self._follow()
        except Exception as e:  # noqa: BLE001 - the rescan starts a new follower
            logger.info("stopped following %s %s: %s", self.app, self.dyno, e)
        finally:
            self.on_exit(self)

    def _follow(self) -> None:
        params = {"stdout": 1, "stderr": 1, "follow": 1, "timestamps": 1}
        if self.since:
            params["since"] = docker_since(self.since)
        url = f"{self.api.base_url}/v{self.api.api_version}/containers/{self.container_id}/logs"
        self._response = self.api.get(url, params=params, stream=True, timeout=(10, None))
        try:
            self._response.raise_for_status()
            self._ship(iter_frames(body_chunks(self._response)))
        finally:
            self._response.close()

    def _ship(self, batches: Iterable[list[tuple[int, bytes]]]) -> None:
        joiners = {1: LineJoiner(), 2: LineJoiner()}
        skip_until, app, dyno = self.since, self.app, self.dyno
        for frames in batches:
            lines, mark = [], ""
            for stream, payload in frames:
                ts = payload[: payload.find(b" ")].decode("ascii", "replace")
                if skip_until:
                    if ts <= skip_until:  # `since` is inclusive; timestamps are fixed-width
                        continue
                    skip_until = None
                joiner = joiners.get(stream) or joiners[1]
                for first, text in joiner.feed(payload[len(ts) + 1 :], ts):
                    lines.append(Line(app, "app", dyno, docker_timestamp(first), text))
                    mark = ts  # a piece of a line still open is read again after a restart
            if lines:
                self.writer.put(lines, (self.container_id, mark))

    def close(self) -> None:
        """Cut the log connection (the thread then ends)."""
        response = self._response
        if response is not None:
            with contextlib.suppress(Exception):
                from docker.types import CancellableStream

                CancellableStream(iter(()), response).close()


class Shipper:
    """Follow every app container's output into its app's stream.

    ``labels`` (like the Docker backend's) narrow which containers are followed.
    """

    def __init__(self, docker_client, redis_client, *, writer: StreamWriter | None = None,
                 labels: dict[str, str] | None = None, rescan: float = 10.0) -> None:
        self.docker = docker_client
        self.redis = redis_client
        self.writer = writer or StreamWriter(redis_client)
        self.labels = dict(labels or {})
        self.rescan = rescan
        self.stop_event = threading.Event()
        self._followers: dict[str, Follower] = {}
        self._done: set[str] = set()  # stopped containers read to the end
        self._addresses: dict[str, str] = {}  # "ip" -> "web.1", for router lines
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._events = None

    def _filters(self) -> list[str]:
        return ["pier.app", "pier.process"] + [f"{k}={v}" for k, v in self.labels.items()]

    def dyno_for(self, address: str) -> str | None:
        return self._addresses.get(address.rpartition(":")[0] or address)

    def scan(self) -> None:
        """Follow every matching container not followed yet; forget vanished ones."""
        summaries = self.docker.api.containers(all=True, filters={"label": self._filters()})
        since = self._since_marks()
        present = set()
        for summary in summaries:
            cid = summary["Id"]
            present.add(cid)
            labels = summary.get("Labels") or {}
            dyno = f"{labels.get('pier.process')}.{labels.get('pier.index')}"
            for network in ((summary.get("NetworkSettings") or {}).get("Networks") or {}).values():
                if network.get("IPAddress"):
                    self._addresses[network["IPAddress"]] = dyno
            running = summary.get("State") == "running"
            self._start(cid, app_key(labels), dyno, since.get(cid), running)
        with self._lock:
            self._done &= present
        stale = [cid for cid in since if not cid.startswith("router:") and cid not in present]
        if stale and not self.labels:  # a labelled (test) shipper sees only part of them
            with contextlib.suppress(redis.RedisError):
                self.redis.hdel(SINCE_KEY, *stale)

    def _since_marks(self) -> dict[str, str]:
        try:
            raw = self.redis.hgetall(SINCE_KEY)
        except redis.RedisError as e:
            logger.warning("cannot read shipped positions, skipping scan: %s", e)
            raise
        return {_text(k): _text(v) for k, v in raw.items()}

    def _start(self, cid: str, app: str, dyno: str, since: str | None, running: bool) -> None:
        with self._lock:
            if cid in self._followers or (cid in self._done and not running):
                return
            self._done.discard(cid)
            follower = Follower(self.docker.api, cid, app, dyno, since, self.writer,
                                self._follower_ended)
            self._followers[cid] = follower
        follower.start()

    def _follower_ended(self, follower: Follower) -> None:
        with self._lock:
            self._followers.pop(follower.container_id, None)
            self._done.add(follower.container_id)

    def _watch_events(self) -> None:
        """Start following containers as soon as Docker says they started."""
        while not self.stop_event.is_set():
            try:
                self._events = self.docker.events(
                    decode=True, filters={"label": self._filters(), "type": "container",
                                          "event": ["start"]})
                for _ in self._events:
                    self._scan_quietly()
            except Exception as e:  # noqa: BLE001 - reconnect; the rescan covers the gap
                if not self.stop_event.is_set():
                    logger.warning("Docker events unavailable: %s", e)
            self.stop_event.wait(1.0)

    def _scan_quietly(self) -> None:
        try:
            self.scan()
        except Exception as e:  # noqa: BLE001 - retried at the next rescan
            logger.warning("container scan failed: %s", e)

    def _rescan_loop(self) -> None:
        while not self.stop_event.is_set():
            self._scan_quietly()
            self.stop_event.wait(self.rescan)

    def start(self) -> None:
        for target in (lambda: self.writer.run(self.stop_event), self._watch_events,
                       self._rescan_loop):
            thread = threading.Thread(target=target, name="logship", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop following (lines already read are written first)."""
        self.stop_event.set()
        if self._events is not None:
            with contextlib.suppress(Exception):
                self._events.close()
        with self._lock:
            followers = list(self._followers.values())
        for follower in followers:
            follower.close()
        for thread in self._threads:
            thread.join(timeout)


# -- the router's access log ----------------------------------------------------------


class AccessLogTail:
    """Follow Caddy's JSON access log file; reopen it when rotated or truncated.

    A first start begins at the end of the file; later starts resume from the position
    stored with the last written line (or from the top of a file rotated meanwhile).
    """

    def __init__(self, path: str | os.PathLike, writer: StreamWriter, redis_client, *,
                 dyno_for: Callable[[str], str | None] | None = None,
                 poll: float = 0.2, chunk: int = 1 << 20) -> None:
        self.path = os.fspath(path)
        self.writer, self.redis, self.dyno_for = writer, redis_client, dyno_for
        self.poll, self.chunk = poll, chunk
        self.field = f"router:{self.path}"
        self._file = None
        self._inode = None
        self._offset = 0
        self._rest = b""

    def _open(self, resume: bool) -> bool:
        try:
            handle = open(self.path, "rb")  # noqa: SIM115 - kept open while following
        except OSError:
            return False
        stat = os.fstat(handle.fileno())
        offset = 0
        if resume:
            saved = _text(self.redis.hget(SINCE_KEY, self.field) or b"")
            inode, _, position = saved.partition(":")
            if not saved:
                offset = stat.st_size
            elif inode == str(stat.st_ino) and int(position) <= stat.st_size:
                offset = int(position)
        handle.seek(offset)
        self._file, self._inode, self._offset, self._rest = handle, stat.st_ino, offset, b""
        return True

    def poll_once(self) -> int:
        """Ship what was appended since the last call; return how many lines."""
        if self._file is None and not self._open(resume=True):
            return 0
        shipped = self._read()
        try:
            stat = os.stat(self.path)
        except OSError:
            return shipped
        if stat.st_ino != self._inode or stat.st_size < self._offset:
            self._file.close()
            self._open(resume=False)
            shipped += self._read()
        return shipped

    def _read(self) -> int:
        shipped = 0
        while data := self._file.read(self.chunk):
            *lines, self._rest = (self._rest + data).split(b"\n")
            batch = []
            for raw in lines:
                self._offset += len(raw) + 1
                line = self._line(raw)
                if line:
                    batch.append(line)
            self.writer.put(batch, (self.field, f"{self._inode}:{self._offset}"))
            shipped += len(batch)
        return shipped

    def _line(self, raw: bytes) -> Line | None:
        try:
            entry = json.loads(raw)
            parsed = router_line(entry, self.dyno_for) if isinstance(entry, dict) else None
        except ValueError:
            return None
        if parsed is None:
            return None
        app, ts, message = parsed
        return Line(app, "router", "router", ts, message)

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.poll_once()
            except (OSError, redis.RedisError) as e:
                logger.warning("access log %s: %s", self.path, e)
            stop.wait(self.poll)


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
