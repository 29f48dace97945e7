"""An in-memory backend for unit tests of the reconciler, like Django's locmem mail backend.

Tests poke it directly: ``crash(name)`` makes a process exit, ``say(app, name, text)``
makes it print a line, ``unhealthy_images`` holds images whose web processes never accept
connections, ``failing_paths`` HTTP check paths that never pass, ``missing_images``
images that cannot start, ``log`` records every call. An attached one-off behaves like
``cat`` on a terminal: what is typed comes back, until it is killed.
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading
import uuid
from dataclasses import replace

from runtime import applog
from runtime.backends.base import BaseBackend, oneoff_name
from runtime.desired import DesiredApp, ProcessSpec, ProcessStatus
from runtime.errors import StartFailed
from runtime.leases import Leases

KILLED = 137  # what a SIGKILLed process exits with


class Backend(BaseBackend):
    def __init__(self, clock=lambda: 0.0, *, labels: dict[str, str] | None = None,
                 isolate_host: bool = True, leases: Leases | None = None) -> None:
        """``labels`` and ``isolate_host`` are accepted, like the Docker backend's, and
        mean nothing here; with ``leases`` attached one-offs are leased and reapable."""
        self.clock = clock
        self.leases = leases
        self.oneoffs: dict[str, _Attached] = {}  # by name, like the engine's containers
        self.output: list[tuple[str, str, str, str]] = []  # (app, dyno, timestamp, text)
        self.token = uuid.uuid4().hex[:8]  # this engine's, to key its shipped positions
        self.processes: dict[str, ProcessStatus] = {}
        self.unhealthy_images: set[str] = set()
        self.failing_paths: set[str] = set()  # HTTP health check paths that never pass
        self.missing_images: set[str] = set()
        self.images: dict[str, str] = {}
        self.log: list[tuple[str, str]] = []
        self._ids = itertools.count(1)

    def ensure_network(self) -> None:
        pass

    def list_processes(self, app=None):
        return [p for p in self.processes.values() if app is None or p.app == app]

    def start_process(self, app: DesiredApp, spec: ProcessSpec, index: int, *, restarts=0):
        if app.image in self.missing_images:
            raise StartFailed(f"image {app.image} not found")
        token = spec.token_for(index)
        key = (app.id, app.release, spec.type, index, token)
        if any((p.app, p.release, p.type, p.index, p.restart_token) == key
               for p in self.processes.values()):
            raise StartFailed(f"duplicate process {key}")
        cid = f"c{next(self._ids)}"
        status = ProcessStatus(
            app=app.id, type=spec.type, index=index, release=app.release, state="up",
            address=f"10.0.0.{cid[1:]}:5000", started_at=self.clock(), restarts=restarts,
            container_id=cid, restart_token=token,
        )
        self.processes[cid] = status
        self.images[cid] = app.image
        self.log.append(("start", f"{app.name} v{app.release} {status.name}"))
        return status

    def stop_process(self, status, grace=30.0):
        self.log.append(("stop", f"{status.app} v{status.release} {status.name}"))
        self.processes.pop(status.container_id, None)

    def remove(self, status):
        self.log.append(("remove", f"{status.app} v{status.release} {status.name}"))
        self.processes.pop(status.container_id, None)

    def is_healthy(self, status, check=None):
        current = self.processes.get(status.container_id)
        return bool(current and current.state == "up"
                    and self.images[status.container_id] not in self.unhealthy_images
                    and not (check and check.path in self.failing_paths))

    def run_oneoff(
        self, app, command, *, output=None, memory_mb=512, timeout=None, env=None, dyno=None
    ):
        self.log.append(("run", f"{app.name} {command}"))
        if output:
            output(f"ran {command}\n".encode())
        return 0

    def stop_oneoff(self, app: str, dyno: str) -> None:
        self.log.append(("stop", f"{app} {dyno}"))
        for attached in list(self.oneoffs.values()):
            if (attached.app, attached.dyno) == (app, dyno):
                attached.kill()

    def attach_oneoff(self, app, command, *, rows=24, cols=80, memory_mb=512, dyno=None):
        dyno = dyno or oneoff_name()
        name = f"{app.name}-v{app.release}-{dyno}"
        lease = self.leases.hold(name) if self.leases else None
        self.log.append(("attach", f"{app.name} {command}"))
        attached = self.oneoffs[name] = _Attached(self, name, app.id, dyno, lease)
        return attached

    def reap_orphans(self, build_ended):
        """Kill one-offs whose lease lapsed (this engine runs no builds)."""
        if not self.leases:
            return []
        held = self.leases.held(list(self.oneoffs))
        orphans = [a for name, a in self.oneoffs.items() if name not in held]
        for attached in orphans:
            attached.remove()
        return [a.name for a in orphans]

    def say(self, app: str, name: str, text: str) -> None:
        """Make the process ``name`` (``web.1``) of app id ``app`` print a line."""
        if not any((p.app, p.name) == (app, name) for p in self.processes.values()):
            raise KeyError(name)
        self.output.append((app, name, applog.now_timestamp(), text))

    def output_shipper(self, redis_client, *, writer=None):
        return _Shipper(self, redis_client, writer)

    def crash(self, app: str, name: str, exit_code: int = 1, oom: bool = False) -> None:
        """Make the running process ``name`` (e.g. ``web.1``) of ``app`` exit."""
        for cid, p in self.processes.items():
            if p.app == app and p.name == name and p.state == "up":
                self.processes[cid] = replace(
                    p, state="crashed", exit_code=exit_code, oom_killed=oom,
                    finished_at=self.clock(), address=None,
                )
                return
        raise KeyError(name)


class _Attached:
    """A one-off on a terminal that echoes what is typed, like ``cat``, until killed."""

    def __init__(self, backend: Backend, name: str, app: str, dyno: str, lease) -> None:
        self.backend, self.name, self.app, self.dyno, self.lease = backend, name, app, dyno, lease
        self.socket, self._process = socket.socketpair()
        self._ended = threading.Event()
        self.code = 0
        threading.Thread(target=self._echo, daemon=True, name=f"oneoff-{name}").start()

    def _echo(self) -> None:
        with contextlib.suppress(OSError):
            while data := self._process.recv(65536):
                self._process.sendall(data)
        self._ended.set()

    def kill(self) -> None:
        self.code = KILLED
        with contextlib.suppress(OSError):
            self._process.shutdown(socket.SHUT_RDWR)
        self._ended.wait()

    def resize(self, rows: int, cols: int) -> None:
        pass

    def wait(self) -> int:
        self._ended.wait()
        return self.code

    def remove(self) -> None:
        self.kill()
        for sock in (self.socket, self._process):
            sock.close()
        self.backend.oneoffs.pop(self.name, None)
        if self.lease:
            self.lease.release()


class _Shipper:
    """Ship what the backend's processes ``say`` into their apps' streams, each line once."""

    def __init__(self, backend: Backend, redis_client, writer=None, poll: float = 0.05) -> None:
        from runtime.logship import StreamWriter  # runtime.logship imports the backends

        self.backend, self.redis, self.poll = backend, redis_client, poll
        self.writer = writer or StreamWriter(redis_client)
        self.field = f"memory:{backend.token}"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def dyno_for(self, address: str) -> str | None:
        host = address.rpartition(":")[0] or address
        return next((p.name for p in self.backend.processes.values()
                     if p.address and p.address.rpartition(":")[0] == host), None)

    def _ship(self) -> None:
        from runtime.logship import SINCE_KEY, Line

        shipped = int(applog.text(self.redis.hget(SINCE_KEY, self.field) or 0))
        while not self._stop.wait(self.poll):
            said = self.backend.output[shipped:]
            if said:
                shipped += len(said)
                self.writer.put([Line(app, "app", dyno, ts, text) for app, dyno, ts, text in said],
                                (self.field, str(shipped)))

    def start(self) -> None:
        for target in (lambda: self.writer.run(self._stop), self._ship):
            thread = threading.Thread(target=target, daemon=True, name="logship-memory")
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
