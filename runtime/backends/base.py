"""The contract every runtime backend (Docker, Kubernetes, the in-memory fake) fulfils.

Backends take and return the plain dataclasses of :mod:`runtime.desired`; nothing engine
specific leaks out. A backend keeps no state of its own that matters: what runs is read
back from the engine (labels ``pier.app-id``, ``pier.app``, ``pier.release``,
``pier.process``, ``pier.index``, ``pier.restart``, ``pier.restarts``). Processes are
keyed by the app's id (``ProcessStatus.app``, ``list_processes(app=...)``), not its name.

Everything the platform does to the engine goes through this contract: running app
processes, one-off processes (to completion, or attached to a terminal), reaping what
their owners left behind, and following app output into the log streams. The contract
suite (``tests/integration/runtime/test_backend_contract.py``) runs against every
backend shipped in :mod:`runtime.backends`.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from runtime.desired import DesiredApp, HealthCheck, ProcessSpec, ProcessStatus

# Port every app process listens on inside its own network namespace.
APP_PORT = 5000


def process_env(app: DesiredApp, dyno: str, port: int = APP_PORT) -> dict[str, str]:
    """Return the environment of a process: the app's config plus PORT and DYNO only."""
    return {**app.env, "PORT": str(port), "DYNO": dyno}


def shell_command(command: str | Sequence[str]) -> list[str] | None:
    """Return the argv that runs a Procfile line, or None to keep the image's CMD."""
    if not command:
        return None
    if isinstance(command, str):
        return ["/bin/sh", "-c", command]
    return list(command)


def oneoff_name() -> str:
    """Return a fresh dyno name for a one-off process, like Heroku's ``run.1234``."""
    return f"run.{secrets.randbelow(9000) + 1000}"


class Attached(Protocol):
    """A one-off process on a terminal (:meth:`BaseBackend.attach_oneoff`)."""

    socket: socket.socket  # raw bytes both ways: keys in, screen out
    dyno: str

    def resize(self, rows: int, cols: int) -> None: ...

    def wait(self) -> int:
        """Block until the process ends; return its exit status."""
        ...

    def remove(self) -> None:
        """Kill (if still running) and remove the process; safe to repeat."""
        ...


class OutputShipper(Protocol):
    """Follows every app process's output into its app's log stream (``app[web.1]``)."""

    writer: Any  # the runtime.logship.StreamWriter the lines go to

    def start(self) -> None: ...

    def stop(self, timeout: float = 5.0) -> None:
        """Stop following (lines already read are written first)."""
        ...

    def dyno_for(self, address: str) -> str | None:
        """Return the dyno (``web.1``) listening at ``ip[:port]``, for router lines."""
        ...


class BaseBackend:
    """A container engine seen as a set of labelled, individually addressable processes."""

    # How many start_process calls the reconciler makes at once (scale-out, first deploy).
    starts_at_once = 4

    def ensure_network(self) -> None:
        """Create whatever network app processes join, if it is missing; safe to repeat."""
        raise NotImplementedError("a backend must provide ensure_network()")

    def list_processes(self, app: str | None = None) -> list[ProcessStatus]:
        """Return every app process the engine holds (all apps, or one), any state."""
        raise NotImplementedError("a backend must provide list_processes(app=None)")

    def running_processes(self) -> list[ProcessStatus]:
        """Return the running app processes (with ``container_id``), for metrics.

        Called every few seconds: a backend whose :meth:`list_processes` is costly per
        process (Docker inspects each one) should answer from one cheap listing.
        """
        return [p for p in self.list_processes() if p.state in ("starting", "up")]

    def start_process(
        self, app: DesiredApp, spec: ProcessSpec, index: int, *, restarts: int = 0
    ) -> ProcessStatus:
        """Start process ``<spec.type>.<index>`` of ``app.release`` and return its status.

        Must refuse (raise) rather than start a second process with the same app,
        release, type and index.
        """
        raise NotImplementedError("a backend must provide start_process(app, spec, index)")

    def stop_process(self, status: ProcessStatus, grace: float = 30.0) -> None:
        """Send SIGTERM, wait up to ``grace`` seconds, SIGKILL, then forget the process."""
        raise NotImplementedError("a backend must provide stop_process(status, grace)")

    def remove(self, status: ProcessStatus) -> None:
        """Forget an exited process (and kill it first if it is somehow still running)."""
        raise NotImplementedError("a backend must provide remove(status)")

    def is_healthy(self, status: ProcessStatus, check: HealthCheck | None = None) -> bool:
        """Return whether the process passes ``check`` right now (default: TCP on PORT)."""
        raise NotImplementedError("a backend must provide is_healthy(status)")

    def run_oneoff(
        self,
        app: DesiredApp,
        command: str | Sequence[str],
        *,
        output: Callable[[bytes], None] | None = None,
        memory_mb: int = 512,
        timeout: float | None = None,
        env: dict[str, str] | None = None,
        dyno: str | None = None,
    ) -> int:
        """Run a one-off process (``pier run``, the release phase) to completion.

        Stream its combined stdout/stderr to ``output`` as it comes, remove it when it
        ends and return its exit status (137 when killed on ``timeout``). One-off
        processes never show up in :meth:`list_processes`.
        """
        raise NotImplementedError("a backend must provide run_oneoff(app, command)")

    def stop_oneoff(self, app: str, dyno: str) -> None:
        """Kill the one-off process ``dyno`` (e.g. ``run.1234``) of app id ``app`` if it runs."""
        raise NotImplementedError("a backend must provide stop_oneoff(app, dyno)")

    def attach_oneoff(
        self,
        app: DesiredApp,
        command: str | Sequence[str],
        *,
        rows: int = 24,
        cols: int = 80,
        memory_mb: int = 512,
        dyno: str | None = None,
    ) -> Attached:
        """Start a one-off process on a terminal of ``rows`` x ``cols`` (``pier run``).

        Not a byte of its output is missed: the terminal is attached before it starts.
        The caller removes it (:meth:`Attached.remove`) when done.
        """
        raise NotImplementedError("a backend must provide attach_oneoff(app, command)")

    def reap_orphans(self, build_ended: Callable[[str], bool]) -> list[str]:
        """Remove processes whose owner is gone; return their names.

        Those are one-offs whose lease lapsed (the process that started them died; see
        :mod:`runtime.leases`) and build containers of builds ``build_ended`` says are
        over. A build id ``build_ended`` does not know must be answered False.
        """
        raise NotImplementedError("a backend must provide reap_orphans(build_ended)")

    def output_shipper(self, redis_client: Any, *, writer: Any = None) -> OutputShipper:
        """Return what follows every app process's output into the log streams.

        ``writer`` (a :class:`runtime.logship.StreamWriter`, by default one on
        ``redis_client``) takes the lines; positions are kept in ``redis_client`` so a
        restarted shipper resumes without shipping a line twice.
        """
        raise NotImplementedError("a backend must provide output_shipper(redis_client)")
