"""Helpers shared by the end-to-end tests (their fixtures are in conftest.py)."""

import functools
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import docker
import httpx

from tests.helpers import wait_for as _wait_for


def engine_pid() -> int:
    """Return the pid of the Docker daemon behind the socket the platform uses.

    Several engines may run on one machine (the Swarm fixture starts three), so `pidof
    dockerd` is no answer: ask which process listens on DOCKER_HOST's socket.
    """
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    path = host.removeprefix("unix://")
    listing = subprocess.run(["ss", "-xlpnH", "src", path], capture_output=True, text=True,
                             check=True).stdout
    pids = {int(part.split("=", 1)[1]) for part in listing.replace(",", " ").split()
            if part.startswith("pid=")}
    if len(pids) != 1:
        raise RuntimeError(f"no single process listens on {path}: {listing!r}")
    return pids.pop()


class Load:
    """GET an app through the router in a loop, on one keep-alive connection, until the
    ``with`` block ends; every non-200 answer or transport error is a failure."""

    def __init__(self, platform, app: str, limit: int = 5000):
        self.url = f"http://127.0.0.1:{platform.router_port}/"
        self.host = f"{app}.localhost"
        self.limit = limit  # bounded, whatever happens to the test
        self.codes, self.failures = [], []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self):
        with httpx.Client(timeout=10) as client:
            while not self.stopped.is_set() and len(self.codes) < self.limit:
                try:
                    response = client.get(self.url, headers={"Host": self.host})
                    self.codes.append(response.status_code)
                    if response.status_code != 200:
                        self.failures.append((response.status_code, response.text[:80]))
                except httpx.HTTPError as e:
                    self.failures.append(repr(e))
                time.sleep(0.01)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.thread.join()


# Slower than elsewhere: a deploy converges in seconds, and the router may be reloading.
wait_for = functools.partial(_wait_for, timeout=90, interval=0.5, ignoring=(httpx.TransportError,))

APP_SERVER = (
    'web: python3 -c \'import http.server, os; http.server.ThreadingHTTPServer(("0.0.0.0", '
    'int(os.environ["PORT"])), type("H", (http.server.BaseHTTPRequestHandler,), '
    '{{"do_GET": lambda s: (s.send_response(200), s.end_headers(), '
    's.wfile.write(("{text} " + os.environ.get("COLOR", "none") + " " + '
    'os.environ["DYNO"]).encode()))}})).serve_forever()\'\n'
    "worker: sleep 100000\n"
)


def scale(platform, app: str, **quantities):
    updates = [{"type": t, "quantity": q} for t, q in quantities.items()]
    response = platform.api.patch(f"/apps/{app}/formation", json={"updates": updates})
    assert response.status_code == 200, response.text


def up_dynos(platform, app: str) -> list[str]:
    dynos = platform.api.get(f"/apps/{app}/dynos").json()
    return sorted(d["name"] for d in dynos if d["state"] == "up")


def process_containers(app: str) -> list:
    """The app's running process containers (a push's build container has its label too)."""
    return docker.from_env().containers.list(
        filters={"label": [f"pier.app={app}", "pier.process"]})


def containers_by_dyno(app: str) -> list[tuple[str, str]]:
    return sorted((f"{c.labels['pier.process']}.{c.labels['pier.index']}", c.id)
                  for c in process_containers(app))


def pier(platform, *args: str) -> subprocess.CompletedProcess:
    """Run the real `pier` command against the platform."""
    env = {**os.environ, "PIER_API_URL": platform.url, "PIER_API_KEY": platform.token}
    return subprocess.run(
        [str(Path(sys.executable).parent / "pier"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
