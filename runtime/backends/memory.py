"""An in-memory backend for unit tests of the reconciler, like Django's locmem mail backend.

Tests poke it directly: ``crash(name)`` makes a process exit, ``unhealthy_images`` holds
images whose web processes never accept connections, ``failing_paths`` HTTP check paths
that never pass, ``missing_images`` images that cannot start, ``log`` records every call.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

from runtime.backends.base import BaseBackend
from runtime.desired import DesiredApp, ProcessSpec, ProcessStatus
from runtime.errors import StartFailed


class Backend(BaseBackend):
    def __init__(self, clock=lambda: 0.0) -> None:
        self.clock = clock
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
