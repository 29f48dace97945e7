"""Helpers shared by the end-to-end tests."""

import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def git(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    result = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


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
