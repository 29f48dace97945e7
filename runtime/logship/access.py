"""The router's access log: tail its JSON lines into Heroku-style ``router`` lines.

HAProxy's log-format and Caddy's JSON access log write the same fields
(:func:`router_line` reads both); :class:`AccessLogTail` follows the file, through
rotation and truncation, and hands the lines to the
:class:`~runtime.logship.writer.StreamWriter`.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import redis

from runtime import applog
from runtime.logship.writer import SINCE_KEY, Line, StreamWriter

logger = logging.getLogger(__name__)


def epoch_timestamp(value: float | str | None) -> str:
    """Return a router's ``ts`` (epoch seconds, or already text) in the log line format."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).isoformat(timespec="microseconds")
    return str(value) if value else applog.now_timestamp()


def service_ms(entry: dict) -> float:
    """Return how long the app took to answer (ms), or the whole request when none did."""
    service = entry.get("upstream_duration")
    if service is None or float(service) < 0:  # no process answered
        service = entry.get("duration_ms")
    if service is None:
        service = float(entry.get("duration") or 0) * 1000
    return float(service)


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
    fields += [
        f"service={round(service_ms(entry))}ms",
        f"status={status}",
        f"bytes={int(entry.get('size') or 0)}",
        f"protocol={'https' if request.get('tls') else 'http'}",
    ]
    return app, epoch_timestamp(entry.get("ts")), " ".join(fields)


class AccessLogTail:
    """Follow the router's JSON access log file; reopen it when rotated or truncated.

    A first start begins at the end of the file; later starts resume from the position
    stored with the last written line (or from the top of a file rotated meanwhile).
    """

    def __init__(self, path: str | os.PathLike, writer: StreamWriter, redis_client, *,
                 dyno_for: Callable[[str], str | None] | None = None,
                 on_requests: Callable[[set[str]], None] | None = None,
                 observe: Callable[[dict], None] | None = None,
                 poll: float = 0.2, chunk: int = 1 << 20) -> None:
        self.path = os.fspath(path)
        self.writer, self.redis, self.dyno_for = writer, redis_client, dyno_for
        # Told which apps got requests, once per batch read (the sleeper's idle clocks).
        self.on_requests = on_requests
        self.observe = observe  # also sees every entry (the metrics collector)
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
            saved = applog.text(self.redis.hget(SINCE_KEY, self.field) or b"")
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
            if self.on_requests and batch:
                self.on_requests({line.app for line in batch})
            shipped += len(batch)
        return shipped

    def _line(self, raw: bytes) -> Line | None:
        try:
            entry = json.loads(raw)
            if self.observe and isinstance(entry, dict):
                self.observe(entry)
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
