"""Helpers every suite shares: import them as ``tests.helpers`` (fixtures live in conftests)."""

import contextlib
import io
import json
import os
import re
import socket
import ssl
import subprocess
import tarfile
import threading
import time
import uuid
from pathlib import Path

from runtime import applog
from runtime.drains import POSITIONS_KEY
from runtime.isolation import unblock_host_access


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


def accepts_connections(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something listens at host:port (a platform process that came up)."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
        return True
    return False


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


BUSYBOX_APPLETS = ("sh", "httpd", "nc", "sleep", "echo", "cat", "ls", "kill", "true", "id",
                   "wget")


def busybox_tar(busybox: str) -> bytes:
    """The root filesystem of a one-binary busybox image, as a tar to import."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, mode in (("bin", 0o755), ("tmp", 0o1777), ("www", 0o755)):
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, mode
            tar.addfile(info)
        tar.add(busybox, arcname="bin/busybox")
        for applet in BUSYBOX_APPLETS:
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type, info.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(info)
        page = b"hello from busybox\n"
        info = tarfile.TarInfo("www/index.html")
        info.size, info.mode = len(page), 0o644
        tar.addfile(info, io.BytesIO(page))
    return buffer.getvalue()


def remove_platform_resources(client, label: str) -> None:
    """Remove every container, network (and its iptables rules) and volume of platform
    ``label`` (the ``pier.platform`` label): what a test's or bench's own Pier made."""
    selector = {"label": f"pier.platform={label}"}
    for container in client.containers.list(all=True, filters=selector):
        container.remove(force=True)
    for network in client.networks.list(filters=selector):
        network.reload()
        unblock_host_access(network.attrs["Options"]["com.docker.network.bridge.name"])
        for container in network.containers:
            network.disconnect(container, force=True)
        network.remove()
    for volume in client.volumes.list(filters=selector):
        volume.remove(force=True)


def platform_processes(data_dir: Path) -> dict[int, tuple[str, int]]:
    """pid -> (command line, parent) of this platform's processes: those started with its
    PIER_DATA_DIR, or naming it (redis-server writes its title over its environment)."""
    marker = f"PIER_DATA_DIR={data_dir}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            environ = (entry / "environ").read_bytes().split(b"\0")
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if marker in environ or str(data_dir) in cmdline:
            found[int(entry.name)] = (cmdline, parent)
    return found


def platform_pids(data_dir: Path, *words: str) -> list[int]:
    """The process running ``words`` under its platform parent (respawn.py, a shell, the
    router process): not its own workers, nor those a killed one left orphaned."""
    processes = platform_processes(data_dir)
    running = {pid: parent for pid, (cmdline, parent) in processes.items()
               if all(w in cmdline for w in words) and "respawn.py" not in cmdline
               and not cmdline.startswith("/bin/sh")}
    return [pid for pid, parent in running.items()
            if parent in processes and parent not in running]
