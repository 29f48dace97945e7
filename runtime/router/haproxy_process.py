"""The router process around HAProxy: it owns the listening sockets, so HAProxy may die.

HAProxy's workers exit the moment their master dies (2.6 gives them no way to outlive
it), so a ``kill -9`` of the master used to refuse connections until something started
HAProxy again (35 of 223 requests of a 20 req/s loop in issue 19). Here the router process
opens the listening sockets itself and hands them to HAProxy as inherited descriptors
(``bind fd@N``, named by an environment variable the config reads). They stay open while
no HAProxy runs: the kernel keeps completing clients' handshakes into their backlog, and
the HAProxy started again at once — from the same config, server-state file and
certificates, so with every route — accepts them. A client sees a pause of a few tens of
milliseconds instead of a refused connection; only a request already inside the dead
worker is lost.

Chosen over the alternatives the issue names: a second instance sharing the port with
``SO_REUSEPORT`` still refuses the connections queued on the dying instance's own socket
(each socket has its own queue, reset when it closes), and doubles every runtime API call;
workers outliving their master are not something HAProxy 2.6 offers.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

# The environment variables the config's ``bind`` lines read (see :func:`bind_address`).
HTTP_SOCKET, HTTPS_SOCKET = "ROUTER_HTTP_SOCKET", "ROUTER_HTTPS_SOCKET"
BACKLOG = 4096  # what queues while HAProxy restarts: ~100 ms at 40k connections/s
STEADY_AFTER = 1.0  # a master that ran this long had started fine: restart it at once


def bind_address(variable: str, listen: str) -> str:
    """The ``bind`` address: the inherited socket when the router process passed one,
    ``listen`` otherwise (``haproxy -c`` checking a config, which must bind nothing)."""
    return f'"${{{variable}-{listen}}}"'


def listening_socket(listen: str) -> socket.socket:
    """Open ``listen`` (HAProxy's form: ``:8080``, ``127.0.0.1:8080``, ``[::]:443``)."""
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    if host in ("", "*"):
        host = "0.0.0.0"
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # As HAProxy binds by default: a second router (another Pier's tests on the same host,
    # all on the default HTTPS port) starts rather than failing on the port.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, int(port)))
    sock.listen(BACKLOG)
    return sock


class Supervisor:
    """Run HAProxy's master with the listening sockets; start it again when it dies,
    until :meth:`signal` forwards a stop (SIGTERM or SIGINT)."""

    def __init__(self, command: list[str], sockets: dict[str, socket.socket], *,
                 stdout: int | None = None, delay_max: float = 10.0) -> None:
        self.command = command
        self.sockets = sockets  # environment variable -> socket
        self.stdout = stdout
        self.delay_max = delay_max
        self.stopping = False
        self.process: subprocess.Popen | None = None
        self.started = threading.Event()  # the first master is running
        self._lock = threading.Lock()

    def run(self) -> int:
        env = {**os.environ, **{name: f"fd@{s.fileno()}" for name, s in self.sockets.items()}}
        fds = tuple(s.fileno() for s in self.sockets.values())
        delay, status = 0.0, 0
        while True:
            with self._lock:
                if self.stopping:
                    return status
                self.process = subprocess.Popen(self.command, env=env, pass_fds=fds,
                                                stdout=self.stdout)
            self.started.set()
            began = time.monotonic()
            status = self.process.wait()
            if self.stopping:
                return status
            # A master that dies again right away (a config it cannot load, no memory) is
            # restarted less and less often rather than in a tight loop.
            steady = time.monotonic() - began > STEADY_AFTER
            delay = 0.0 if steady else min(max(delay * 2, 0.25), self.delay_max)
            print(f"pier router: HAProxy's master exited with status {status}; "
                  f"starting it again in {delay:g}s", file=sys.stderr, flush=True)
            time.sleep(delay)

    def signal(self, number: int) -> None:
        with self._lock:
            if number in (signal.SIGTERM, signal.SIGINT):
                self.stopping = True
            if self.process is not None:
                self.process.send_signal(number)
