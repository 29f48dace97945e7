"""HAProxy's access log: kept in an in-memory ring, streamed out over the runtime API.

HAProxy writes each request's line into a ring buffer (a memory copy) instead of a pipe (a
system call per request, plus a process copying the pipe): on this 2-core machine that was
the largest part of the router's cost per request (bench/results/router.json). The router
process follows the ring of each HAProxy worker with ``show events <ring> -w`` and appends
whole lines to the access log file, rotated like before.

Each worker has its own ring. After a reload the new worker's ring is read from its start
(nothing it logged before we connected is lost) while the old worker's session is kept
until the old worker has been quiet for ``RETIRE_IDLE`` seconds: requests it was still
serving are logged when they end.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from runtime.errors import RouterUnavailable

RING = "pier_access"
RING_BYTES = 4 << 20  # ~10k lines: seconds of traffic while a new worker's reader connects
RETIRE_IDLE = 5.0


class RotatingFile:
    """Appends whole lines to ``path``; past ``max_bytes`` it becomes ``path.1``."""

    def __init__(self, path: str, max_bytes: int = 64 << 20) -> None:
        self.path, self.max_bytes = path, max_bytes
        self.rotates = path not in (os.devnull, "/dev/stdout")
        self._file = open(path, "ab")  # noqa: SIM115 - swapped on rotation

    def write(self, lines: bytes) -> None:
        self._file.write(lines)
        self._file.flush()
        if self.rotates and self._file.tell() > self.max_bytes:
            self._file.close()
            os.replace(self.path, self.path + ".1")  # a reader following it finishes it first
            self._file = open(self.path, "ab")  # noqa: SIM115 - swapped on rotation

    def close(self) -> None:
        self._file.close()


@dataclass
class _Session:
    """One ``show events -w`` connection to one worker."""

    sock: socket.socket
    wanted: str  # the worker it was opened for
    pid: str = ""  # known once ``show info``'s answer has arrived
    buffer: bytes = b""
    last_data: float = field(default_factory=time.monotonic)
    retiring: bool = False


def _open_session(admin: Path, wanted: str, new_worker: bool) -> _Session:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(2.0)
    try:
        sock.connect(str(admin))
        # show info first: the answer names the worker this connection landed on.
        flags = "-w" if new_worker else "-nw"  # a worker we already read: only new lines
        sock.sendall(f"show info; show events {RING} {flags}\n".encode())
    except OSError as error:
        sock.close()
        raise RouterUnavailable(f"HAProxy's runtime API at {admin}: {error}") from error
    sock.setblocking(False)
    return _Session(sock, wanted)


def _read(session: _Session) -> tuple[bytes, bool]:
    """Return the whole lines received so far and whether the session has ended."""
    ended = False
    while True:
        try:
            data = session.sock.recv(1 << 20)
        except BlockingIOError:
            break
        except OSError:
            data = b""
        if not data:
            ended = True
            break
        session.buffer += data
        session.last_data = time.monotonic()
    if not session.pid:
        head, sep, rest = session.buffer.partition(b"\n\n")
        if not sep:
            return b"", ended
        session.pid = next((line.split(b":", 1)[1].strip().decode()
                            for line in head.splitlines() if line.startswith(b"Pid:")), "?")
        session.buffer = rest
    cut = session.buffer.rfind(b"\n") + 1
    lines, session.buffer = session.buffer[:cut], session.buffer[cut:]
    # Access log lines are JSON objects; anything else is one of HAProxy's notices (or the
    # empty line that ends an idle session).
    return b"".join(line for line in lines.splitlines(keepends=True)
                    if line.startswith(b"{")), ended


def follow(admin: Path, out: RotatingFile, worker_pid: Callable[[], str],
           alive: Callable[[], bool], *, pause: float = 0.05, check_every: float = 0.5) -> None:
    """Copy every worker's ring to ``out`` while ``alive()``; ``worker_pid()`` names the
    current worker (the one the admin socket reaches)."""
    sessions: list[_Session] = []
    read_from: set[str] = set()
    next_check = 0.0
    while alive():
        now = time.monotonic()
        if now >= next_check:
            next_check = now + check_every
            try:
                current = worker_pid()
            except RouterUnavailable:
                current = ""  # mid-reload or starting: look again soon
            for session in sessions:
                if session.pid and session.pid != current:
                    session.retiring = True
            if current and not any(s.pid in ("", current) for s in sessions):
                try:
                    sessions.append(_open_session(admin, current, current not in read_from))
                except RouterUnavailable:
                    pass
        for session in list(sessions):
            lines, ended = _read(session)
            if session.pid and session.pid != session.wanted:
                # Landed on the old worker mid-reload: its lines come through its own session.
                session.sock.close()
                sessions.remove(session)
                continue
            if lines:
                out.write(lines)
            if session.pid:
                read_from.add(session.pid)
            if ended:
                session.sock.close()
                sessions.remove(session)
            elif session.retiring and now - session.last_data > RETIRE_IDLE:
                session.sock.close()  # lets the old worker exit
                sessions.remove(session)
        time.sleep(pause)
    for session in sessions:
        lines, _ = _read(session)
        out.write(lines + session.buffer)
        session.sock.close()
