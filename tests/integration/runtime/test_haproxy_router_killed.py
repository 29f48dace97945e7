"""HAProxy's master killed with SIGKILL under a steady load: no connection is refused, the
routes stay, every answered request is logged, and the runtime still drives the new one."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from runtime.router.base import Route
from runtime.router.haproxy import Router
from tests.helpers import free_port

KILLS = 5


def children(pid: int) -> list[int]:
    """Children of every thread: HAProxy is started from the router process's second one."""
    return [int(child) for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()]


class Loop:
    """The issue's load: 20 GETs a second, each on a new connection, like a curl loop."""

    def __init__(self, url: str, host: str):
        self.url, self.host = url, host
        self.codes: list[int] = []
        self.refused: list[str] = []  # the connection itself failed
        self.cut: list[str] = []  # connected, then no answer: a request inside a dead worker
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self):
        with httpx.Client(timeout=10, limits=httpx.Limits(max_keepalive_connections=0)) as c:
            while not self.stopped.wait(0.05):
                try:
                    self.codes.append(c.get(self.url, headers={"Host": self.host}).status_code)
                except httpx.ConnectError as e:
                    self.refused.append(repr(e))
                except httpx.TransportError as e:
                    self.cut.append(repr(e))

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.thread.join()


@pytest.fixture
def router(tmp_path):
    port, https_port = free_port(), free_port()
    options = dict(state_dir=tmp_path / "state", listen=f"127.0.0.1:{port}",
                   https_listen=f"127.0.0.1:{https_port}",
                   access_log=str(tmp_path / "access.log"))
    with open(tmp_path / "router.log", "wb") as log:
        process = Router(**options).start(wait=60, stderr=log)  # a loaded machine is slow
        yield Router(**options), process, port, https_port, tmp_path
        process.terminate()
        process.wait(10)


def test_killed_master_refuses_nothing_and_keeps_its_routes(router, upstreams):
    router, process, port, https_port, tmp_path = router
    a, b, _ = upstreams
    router.apply([Route("app", ["app.localhost"], [a.address])])
    url = f"http://127.0.0.1:{port}/"
    right_after = []
    with Loop(url, "app.localhost") as load:
        for _ in range(KILLS):
            time.sleep(1.2)  # past the supervisor's "started fine" mark: restarted at once
            [master] = children(process.pid)
            os.kill(master, signal.SIGKILL)
            # At once, while no HAProxy may be running: the connection waits in the socket.
            right_after.append(httpx.get(url, headers={"Host": "app.localhost"}).status_code)
            answered = len(load.codes)
            deadline = time.monotonic() + 30
            while len(load.codes) < answered + 3 and time.monotonic() < deadline:
                time.sleep(0.05)
    print(f"{len(load.codes)} answered, {len(load.cut)} cut, {len(load.refused)} refused")
    assert right_after == [200] * KILLS
    assert load.refused == []
    # A request the dead worker had accepted is lost with it (at most one per kill, the
    # loop waits for each answer); whatever was still in the sockets' queue is served.
    assert len(load.cut) <= KILLS
    assert len(load.codes) >= 3 * KILLS and set(load.codes) == {200}
    assert children(process.pid) != [master]

    # The routes came back from the saved state, and the runtime drives the new HAProxy:
    # through its runtime API (a second process) and a reload (a second app).
    router.apply([Route("app", ["app.localhost"], [a.address, b.address]),
                  Route("other", ["other.localhost"], [b.address])])
    ports = {httpx.get(url, headers={"Host": "app.localhost"}).json()["port"] for _ in range(6)}
    assert ports == {a.port, b.port}
    assert httpx.get(url, headers={"Host": "other.localhost"}).json()["port"] == b.port
    # The HTTPS socket was handed over too.
    assert httpx.get(f"https://127.0.0.1:{https_port}/", headers={"Host": "nope.localhost"},
                     verify=False).status_code == 404

    # The access log pipe is the router process's: no answered request is missing from it.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        lines = (tmp_path / "access.log").read_text().splitlines()
        logged = [json.loads(line) for line in lines]
        if sum(1 for line in logged if line["pier_app"] == "app") >= len(load.codes) + 6:
            break
        time.sleep(0.1)
    assert sum(1 for line in logged if line["pier_app"] == "app") >= len(load.codes) + 6


def test_a_master_that_cannot_start_is_retried_less_and_less_often(tmp_path):
    """A config HAProxy refuses (someone edited it) is no tight restart loop."""
    port = free_port()
    router = Router(state_dir=tmp_path / "state", listen=f"127.0.0.1:{port}",
                    access_log=str(tmp_path / "access.log"))
    router._prepare()
    router.paths.config.write_text("global\n    no-such-keyword\n")
    with open(tmp_path / "router.log", "wb") as log:
        serve = subprocess.Popen([sys.executable, "-m", "runtime.router.haproxy", "--state-dir",
                                  str(tmp_path / "state"), "--listen", f"127.0.0.1:{port}"],
                                 stderr=log)
        deadline = time.monotonic() + 60
        while len(delays := _delays(tmp_path / "router.log")) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        serve.terminate()
        serve.wait(10)
    assert delays[:3] == [0.25, 0.5, 1.0]  # where a tight loop would restart it at once


def _delays(log: Path) -> list[float]:
    return [float(d) for d in re.findall(r"starting it again in ([\d.]+)s", log.read_text())]
