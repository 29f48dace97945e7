"""Helpers every suite shares: import them as ``tests.helpers`` (fixtures live in conftests)."""

import contextlib
import json
import os
import re
import socket
import ssl
import subprocess
import threading
import time
import uuid
from pathlib import Path

from runtime import applog
from runtime.drains import POSITIONS_KEY


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def terminal_output(ws) -> tuple[bytes, int | None]:
    """Read a `pier run` WebSocket session to its end: (the screen, the exit status)."""
    screen = b""
    for message in ws:
        if isinstance(message, str):
            return screen, json.loads(message)["exit_code"]
        screen += message
    return screen, None


def wait_for(condition, timeout: float = 60.0, what: str = "condition", *,
             interval: float = 0.1, ignoring: tuple = ()):
    """Return condition()'s first true value; fail the test after ``timeout`` seconds.

    Exceptions of the types in ``ignoring`` count as "not yet" (a router reloading).
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = condition()
        except ignoring:
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


def git(*args: str, cwd: Path, check: bool = True,
        timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run git in cwd as a fixed author, never prompting; fail the test if it fails."""
    env = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    result = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


FRAME = re.compile(rb"(\d+) ")


def parse_frames(data: bytes) -> list[bytes]:
    """Split an octet-counted byte stream into its messages."""
    messages, pos = [], 0
    while match := FRAME.match(data, pos):
        start = match.end()
        messages.append(data[start : start + int(match.group(1))])
        pos = start + int(match.group(1))
    assert pos == len(data), "stray bytes between frames"
    return messages


class SyslogListener:
    """A real TCP (optionally TLS) socket on 127.0.0.1, a syslog drain or the platform's
    Redis an attacker aims at: counts connections and keeps every byte received."""

    def __init__(self, context: ssl.SSLContext | None = None):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.context = context
        self.accepted = 0
        self.data = b""
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.accepted += 1
            if self.context:
                conn = self.context.wrap_socket(conn, server_side=True)
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn):
        with conn:
            while chunk := conn.recv(65536):
                with self._lock:
                    self.data += chunk

    def messages(self) -> list[bytes]:
        with self._lock:
            return parse_frames(self.data)

    def close(self):
        self.server.close()


@contextlib.contextmanager
def fresh_app(redis_client, app_id: str = ""):
    """Give a fresh app id (or app_id); its log stream and drain positions go afterwards."""
    name = app_id or str(uuid.uuid4())
    yield name
    redis_client.delete(applog.stream_key(name))
    for field in redis_client.hkeys(POSITIONS_KEY):
        if field.startswith(f"{name}:"):
            redis_client.hdel(POSITIONS_KEY, field)


@contextlib.contextmanager
def redis_server(directory: Path):
    """Run a redis-server child on a socket in directory (nothing on disk); yield its URL."""
    sock = directory / "redis.sock"
    proc = subprocess.Popen(
        ["redis-server", "--port", "0", "--unixsocket", str(sock), "--save", "",
         "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for(sock.exists, timeout=5, what="redis-server's socket", interval=0.05)
        yield f"unix://{sock}"
    finally:
        proc.terminate()
        proc.wait()


@contextlib.contextmanager
def celery_broker(redis_url: str):
    """Point Pier's Celery app at redis_url for the block, and back afterwards.

    Both of Celery's pools are dropped each way: ``app.close()`` forgets the connection
    pool but not the producer pool, whose connections would still publish to the broker of
    whichever test sent a task first.
    """
    from pier.celery import app
    from pier.redis import celery_broker_url

    def point(url: str) -> None:
        app.conf.broker_url = url
        app._pool = None
        app.amqp._producer_pool = None

    before = app.conf.broker_url
    point(celery_broker_url(redis_url))
    try:
        yield app
    finally:
        point(before)
