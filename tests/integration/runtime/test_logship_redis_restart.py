"""The log writer against a real Redis that goes away and comes back."""

import shutil
import subprocess
import time

import pytest
import redis

from runtime import applog
from runtime.logship import Line, StreamWriter
from tests.helpers import free_port


def start_redis(port: int, tmp_path) -> subprocess.Popen:
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            return process
        except redis.ConnectionError:
            time.sleep(0.05)
    raise AssertionError("redis-server did not start")


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_lines_written_while_redis_restarts_arrive_or_are_counted(tmp_path):
    port = free_port()
    server = start_redis(port, tmp_path)
    client = redis.Redis(port=port, socket_timeout=2, socket_connect_timeout=1)
    writer = StreamWriter(client, limit=50)
    key = applog.stream_key("restarted")
    try:
        writer.put([Line("restarted", "app", "web.1", "ts", "before")])
        assert writer.flush()
        server.terminate()
        server.wait(10)
        # Down: lines queue up to the limit, the rest are counted as dropped.
        writer.put([Line("restarted", "app", "web.1", "ts", f"down {i}") for i in range(80)])
        assert writer.flush() is False
        assert writer.dropped_total == 30
        server = start_redis(port, tmp_path)  # a new, empty Redis (nothing saved)
        assert writer.flush()  # same client: it reconnects and reloads its script
        messages = [f[b"line"].decode() for _, f in client.xrange(key)]
        assert messages == [f"down {i}" for i in range(30, 80)] + [
            "30 lines dropped while the log store was unavailable"]
    finally:
        server.terminate()
        server.wait(10)
