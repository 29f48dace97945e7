"""Run app processes as Docker containers on one machine.

Every container carries the labels ``pier.app-id``, ``pier.app``, ``pier.release``,
``pier.process``, ``pier.index``, ``pier.restart`` (the restart token) and
``pier.restarts`` (how many crash-restarts led to it); :meth:`Backend.list_processes`
reads state back from them, so a restarted runtime adopts what runs. Containers have
restart policy ``no``: the reconciler restarts crashed processes itself, with backoff.

``pier.app-id`` is what the runtime keys an app's processes by (and the log shipper its
log stream); ``pier.app`` is the name, for people reading ``docker ps``. The id, not the
name, because labels cannot change on a running container: keyed by name, ``apps:rename``
would have to restart every process (or leave them writing to the old name's stream), and
a destroyed app's processes, still stopping, would count as the next owner of the name's.
Keyed by id, a rename only changes the router's host map; ``pier.app`` of processes
started before it keeps the old name until they are replaced. Containers from before the
id label existed are read as keyed by their name, so they are replaced once, not leaked.

How apps are kept away from the platform:

- No container publishes a port. The router reaches a process at its address on the
  ``pier-apps`` bridge network, ``<ip>:5000``.
- ``pier-apps`` is a user-defined bridge with inter-container traffic disabled
  (``enable_icc=false``): one app's processes cannot open connections to another's.
  Docker already drops traffic between different bridge networks, so containers of the
  platform itself (postgres, redis, ... on their own network) are out of reach too.
- What is left is the host: a container can open connections to any address of the
  machine, where the platform's services may listen (redis on 0.0.0.0:6379, say). With
  ``isolate_host`` (the default) :meth:`Backend.ensure_network` adds one iptables rule,
  ``INPUT -i <bridge> -m conntrack --ctstate NEW -j DROP``: containers cannot open
  connections to the host, while the host (router, health checks) can still connect to
  them. Outbound traffic to the internet is forwarded, not input, so it keeps working.
  Kernel rules are not persistent: the rule is re-added whenever the runtime starts, with
  one more that drops what apps send to metadata addresses (:mod:`runtime.isolation`).
  Isolation fails closed: when a rule cannot be added, :meth:`Backend.ensure_network`
  raises :class:`runtime.errors.IsolationError` and no app is started. ``isolate_host=False``
  (``PIER_UNSAFE_NO_ISOLATION=1``, development only) skips the rule and says so loudly.

Containers whose owner died are reaped by :meth:`Backend.reap_orphans`, which the runtime
calls periodically: one-offs whose owner's lease lapsed (see :mod:`runtime.leases`) and
build containers (``pier.role=build``) of builds that are no longer running.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import http.client
import logging
import math
import socket
import threading
from collections.abc import Callable, Sequence
from typing import Any

import docker
import docker.errors

from runtime import applog
from runtime.backends.base import (
    APP_PORT,
    BaseBackend,
    oneoff_name,
    process_env,
    shell_command,
)
from runtime.desired import DesiredApp, HealthCheck, ProcessSpec, ProcessStatus
from runtime.docker_engine import LazyClient, _engine
from runtime.errors import StartFailed
from runtime.isolation import isolate_bridge
from runtime.leases import Lease, Leases

logger = logging.getLogger(__name__)

NETWORK = "pier-apps"
BRIDGE = "pier0"
APP_USER = "1000:1000"
# One-offs and the release phase: the process limit of the `standard` size.
ONEOFF_MAX_PROCESSES = 256
STATES = {
    "created": "starting",
    "restarting": "starting",
    "running": "up",
    "paused": "up",
    "exited": "crashed",
    "dead": "crashed",
    "removing": "stopped",
}


def _timestamp(value: str | None) -> float | None:
    """Parse Docker's RFC 3339 time (nanoseconds, Z), or None for its zero time."""
    if not value or value.startswith("0001-"):
        return None
    return datetime.datetime.fromisoformat(applog.utc_timestamp(value)).timestamp()


class Backend(BaseBackend):
    client = LazyClient()

    def __init__(
        self,
        *,
        client: docker.DockerClient | None = None,
        network: str = NETWORK,
        bridge: str = BRIDGE,
        labels: dict[str, str] | None = None,
        name_prefix: str = "pier-",
        isolate_host: bool = True,
        user: str = APP_USER,
        port: int = APP_PORT,
        leases: Leases | None = None,
    ) -> None:
        """``labels`` are added to every container and narrow what this backend sees.

        With ``leases``, each one-off is leased by the process that starts it and can be
        reaped once that process is gone; without, one-offs are never reaped.
        """
        self.client = client
        self.network = network
        self.bridge = bridge
        self.labels = dict(labels or {})
        self.name_prefix = name_prefix
        self.isolate_host = isolate_host
        self.user = user
        self.port = port
        self.leases = leases

    # -- network ----------------------------------------------------------------

    def ensure_network(self) -> None:
        with _engine():
            found = [n for n in self.client.networks.list(names=[self.network])
                     if n.name == self.network]
            if found:
                network = found[0]
            else:
                network = self.client.networks.create(
                    self.network, driver="bridge", labels={"pier.network": "apps"},
                    options={
                        "com.docker.network.bridge.name": self.bridge,
                        "com.docker.network.bridge.enable_icc": "false",
                    },
                )
                network.reload()
        options = network.attrs.get("Options") or {}
        iface = options.get("com.docker.network.bridge.name") or f"br-{network.id[:12]}"
        if self.isolate_host:
            isolate_bridge(iface)
        else:
            logger.warning(
                "UNSAFE: PIER_UNSAFE_NO_ISOLATION is set: apps on %s can open connections to "
                "every service of this host (Redis, PostgreSQL, Docker...). Development only; "
                "never share this machine with untrusted apps.", iface)

    # -- processes --------------------------------------------------------------

    def _filters(self, app: str | None = None, key: str = "pier.process") -> dict:
        labels = [key] + [f"{k}={v}" for k, v in self.labels.items()]
        if app:
            labels.append(f"pier.app-id={app}")
        return {"label": labels}

    def list_processes(self, app: str | None = None) -> list[ProcessStatus]:
        statuses = []
        with _engine():
            for summary in self.client.api.containers(all=True, filters=self._filters(app)):
                try:
                    attrs = self.client.api.inspect_container(summary["Id"])
                except docker.errors.NotFound:  # removed while we looked
                    continue
                statuses.append(self._status(attrs))
        return sorted(statuses, key=lambda p: (p.app, p.release, p.type, p.index))

    def running_processes(self) -> list[ProcessStatus]:
        """Return running processes from one container listing (no inspect per container)."""
        statuses = []
        with _engine():
            for summary in self.client.api.containers(filters=self._filters()):
                labels = summary["Labels"]
                statuses.append(ProcessStatus(
                    app=app_key(labels), type=labels["pier.process"],
                    index=int(labels["pier.index"]), release=int(labels["pier.release"]),
                    state="up", container_id=summary["Id"],
                ))
        return statuses

    def _status(self, attrs: dict) -> ProcessStatus:
        labels = attrs["Config"]["Labels"]
        state = attrs["State"]
        network = (attrs["NetworkSettings"].get("Networks") or {}).get(self.network) or {}
        running = state.get("Running", False)
        ip = network.get("IPAddress")
        return ProcessStatus(
            app=app_key(labels),
            type=labels["pier.process"],
            index=int(labels["pier.index"]),
            release=int(labels["pier.release"]),
            state=STATES.get(state.get("Status", ""), "crashed"),
            address=f"{ip}:{self.port}" if running and ip else None,
            started_at=_timestamp(state.get("StartedAt")),
            finished_at=None if running else _timestamp(state.get("FinishedAt")),
            restarts=int(labels.get("pier.restarts", "0")),
            exit_code=None if running else state.get("ExitCode"),
            oom_killed=bool(state.get("OOMKilled")),
            container_id=attrs["Id"],
            restart_token=labels.get("pier.restart", ""),
        )

    def container_name(self, app: DesiredApp, dyno: str, token: str = "") -> str:
        # A restarted process starts beside the one it replaces: the token tells them apart.
        suffix = f"-r{hashlib.sha256(token.encode()).hexdigest()[:8]}" if token else ""
        # The id's start: a re-created app of the same name must not clash with the
        # destroyed one's processes while they stop.
        key = f"-{app.id[:8]}" if app.id != app.name else ""
        return f"{self.name_prefix}{app.name}{key}-v{app.release}-{dyno}{suffix}"

    def _app_labels(self, app: DesiredApp) -> dict[str, str]:
        return {**self.labels, "pier.app-id": app.id, "pier.app": app.name,
                "pier.release": str(app.release)}

    def _run_kwargs(self, app: DesiredApp, dyno: str, memory_mb: int) -> dict:
        """Return what every app container gets: env, user, limits, network, no ports."""
        return dict(
            image=app.image,
            environment=process_env(app, dyno, self.port),
            user=self.user,
            mem_limit=f"{memory_mb}m",
            memswap_limit=f"{memory_mb}m",  # no swap: over the limit is an OOM kill
            network=self.network,
            restart_policy={"Name": "no"},
            init=True,  # a real PID 1 forwards SIGTERM and reaps zombies
            security_opt=["no-new-privileges"],
            cap_drop=["ALL"],  # untrusted code binds $PORT (above 1024): no root power needed
            detach=True,
        )

    def _process_labels(self, app: DesiredApp, spec: ProcessSpec, index: int,
                        restarts: int) -> dict[str, str]:
        """What the reconciler reads back from a process: its app, type, index, restarts."""
        return {
            **self._app_labels(app),
            "pier.process": spec.type,
            "pier.index": str(index),
            "pier.restart": spec.token_for(index),
            "pier.restarts": str(restarts),
        }

    def _join_networks(self, app: DesiredApp, container) -> None:
        """Connect a created container to its app's add-on networks, before it starts."""
        for network in app.networks:
            self.client.api.connect_container_to_network(container.id, network)

    def start_process(
        self, app: DesiredApp, spec: ProcessSpec, index: int, *, restarts: int = 0
    ) -> ProcessStatus:
        dyno = f"{spec.type}.{index}"
        labels = self._process_labels(app, spec, index, restarts)
        with _engine():
            try:
                container = self.client.containers.create(
                    command=shell_command(spec.command),
                    name=self.container_name(app, dyno, spec.token_for(index)),
                    labels=labels,
                    cpu_shares=spec.cpu_shares or None,
                    pids_limit=spec.max_processes or None,
                    **self._run_kwargs(app, dyno, spec.memory_mb),
                )
            except docker.errors.ImageNotFound as e:
                raise StartFailed(f"{app.name} {dyno}: image {app.image} not found") from e
            except docker.errors.APIError as e:
                raise StartFailed(f"{app.name} {dyno}: {e.explanation or e}") from e
            try:
                self._join_networks(app, container)
                container.start()
            except docker.errors.APIError as e:
                container.remove(force=True)
                raise StartFailed(f"{app.name} {dyno}: {e.explanation or e}") from e
            return self._status(self.client.api.inspect_container(container.id))

    def stop_process(self, status: ProcessStatus, grace: float = 30.0) -> None:
        with _engine(), contextlib.suppress(docker.errors.NotFound):
            # Docker sends SIGTERM, waits `t` seconds, then SIGKILL.
            self.client.api.stop(status.container_id, timeout=math.ceil(grace))
            self.client.api.remove_container(status.container_id, force=True)

    def remove(self, status: ProcessStatus) -> None:
        with _engine(), contextlib.suppress(docker.errors.NotFound):
            self.client.api.remove_container(status.container_id, force=True)

    def is_healthy(self, status: ProcessStatus, check: HealthCheck | None = None,
                   timeout: float = 0.5) -> bool:
        if status.state != "up" or not status.address:
            return False
        host, _, port = status.address.rpartition(":")
        if check and check.path:
            return http_check_passes(host, int(port), check, timeout=2.0)
        try:
            with socket.create_connection((host, int(port)), timeout=timeout):
                return True
        except OSError:
            return False

    # -- one-off processes ------------------------------------------------------

    def run_oneoff(self, app: DesiredApp, command: str | Sequence[str], *,
                   output: Callable[[bytes], None] | None = None, memory_mb: int = 512,
                   timeout: float | None = None, env: dict[str, str] | None = None,
                   dyno: str | None = None) -> int:
        dyno = dyno or oneoff_name()
        with self._lease(app, dyno), _engine():
            container = self._create_oneoff(app, command, dyno, memory_mb, env=env)
            killer = threading.Timer(timeout, self._kill_quietly, [container]) if timeout else None
            try:
                container.start()
                if killer:
                    killer.start()
                for chunk in container.logs(stream=True, follow=True):
                    if output:
                        output(chunk)
                return int(container.wait()["StatusCode"])
            finally:
                if killer:
                    killer.cancel()
                container.remove(force=True)

    def attach_oneoff(self, app: DesiredApp, command: str | Sequence[str], *, rows: int = 24,
                      cols: int = 80, memory_mb: int = 512, dyno: str | None = None) -> Attached:
        dyno = dyno or oneoff_name()
        lease = self._lease(app, dyno)
        with contextlib.ExitStack() as on_error, _engine():
            on_error.callback(lease.release)
            # Docker sizes the terminal only once the process runs; until then a program
            # reads its size from LINES and COLUMNS, which `heroku run` sets too.
            container = self._create_oneoff(app, command, dyno, memory_mb, tty=True,
                                            stdin_open=True,
                                            env={"LINES": str(rows), "COLUMNS": str(cols)})
            try:
                # Attached before it starts, so not a byte of its first output is missed.
                sock = self.client.api.attach_socket(
                    container.id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
                container.start()
            except docker.errors.APIError as e:
                container.remove(force=True)
                raise StartFailed(f"{app.name} {dyno}: {e.explanation or e}") from e
            on_error.pop_all()  # the lease lives as long as the attached process
        attached = Attached(container, getattr(sock, "_sock", sock), dyno, lease)
        attached.resize(rows, cols)
        return attached

    def _create_oneoff(self, app: DesiredApp, command, dyno: str, memory_mb: int, *,
                       env: dict[str, str] | None = None, **extra: Any):
        kwargs = self._run_kwargs(app, dyno, memory_mb)
        kwargs["environment"].update(env or {})
        kwargs["pids_limit"] = ONEOFF_MAX_PROCESSES
        name = self.container_name(app, dyno)
        labels = {**self._app_labels(app), "pier.oneoff": dyno}
        if self.leases:
            labels["pier.lease"] = name
        try:
            container = self.client.containers.create(
                command=shell_command(command), labels=labels, name=name, **kwargs, **extra,
            )
        except docker.errors.ImageNotFound as e:
            raise StartFailed(f"{app.name} {dyno}: image {app.image} not found") from e
        try:
            self._join_networks(app, container)
        except docker.errors.APIError as e:
            container.remove(force=True)
            raise StartFailed(f"{app.name} {dyno}: {e.explanation or e}") from e
        return container

    def stop_oneoff(self, app: str, dyno: str) -> None:
        """Kill a running one-off process (its caller went away); ``app`` is the app's id."""
        with _engine():
            filters = {"label": [f"pier.app-id={app}", f"pier.oneoff={dyno}"]}
            for container in self.client.containers.list(filters=filters):
                self._kill_quietly(container)

    @staticmethod
    def _kill_quietly(container) -> None:
        with contextlib.suppress(docker.errors.APIError):
            container.kill()

    def _lease(self, app: DesiredApp, dyno: str) -> Lease | _NoLease:
        """Hold the lease of a one-off about to be created (a no-op without leases)."""
        if not self.leases:
            return _NoLease()
        return self.leases.hold(self.container_name(app, dyno))

    def reap_orphans(self, build_ended: Callable[[str], bool]) -> list[str]:
        """Remove containers whose owner is gone; return their names.

        Those are one-offs whose lease lapsed (the web or worker process that started
        them died) and build containers of builds that ``build_ended`` says are over (the
        worker died mid-build). Build containers carry no platform label, so a build id
        that ``build_ended`` does not know must be answered False: it may be another
        platform's.
        """
        with _engine():
            leased = self.client.api.containers(all=True, filters=self._filters(key="pier.lease"))
            builds = self.client.api.containers(all=True, filters={"label": ["pier.role=build"]})
        names = [c["Labels"]["pier.lease"] for c in leased]
        held = self.leases.held(names) if self.leases and names else set(names)
        orphans = [c for c in leased if c["Labels"]["pier.lease"] not in held]
        orphans += [c for c in builds if build_ended(c["Labels"].get("pier.build", ""))]
        with _engine():
            for container in orphans:
                with contextlib.suppress(docker.errors.NotFound):
                    self.client.api.remove_container(container["Id"], force=True)
        return [c["Names"][0].lstrip("/") for c in orphans]

    # -- output -----------------------------------------------------------------

    def output_shipper(self, redis_client, *, writer=None):
        from runtime.logship import Shipper  # runtime.logship reads this module's labels

        return Shipper(self.client, redis_client, writer=writer, labels=self.labels)


class _NoLease(contextlib.nullcontext):
    def release(self) -> None:
        pass


class Attached:
    """A one-off process on a terminal: ``socket`` (raw bytes both ways), resize, wait."""

    def __init__(self, container, sock: socket.socket, dyno: str, lease) -> None:
        self.container, self.socket, self.dyno, self.lease = container, sock, dyno, lease

    def resize(self, rows: int, cols: int) -> None:
        with contextlib.suppress(docker.errors.APIError):
            self.container.resize(height=rows, width=cols)

    def wait(self) -> int:
        with _engine():
            return int(self.container.wait()["StatusCode"])

    def remove(self) -> None:
        """Kill (if still running) and remove the process."""
        with contextlib.suppress(OSError):
            self.socket.close()
        with _engine(), contextlib.suppress(docker.errors.NotFound):
            self.container.remove(force=True)
        self.lease.release()


def http_check_passes(host: str, port: int, check: HealthCheck, timeout: float) -> bool:
    """``GET check.path`` answers 2xx/3xx (and has ``check.content`` in its first 64 kB)."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", check.path, headers={"User-Agent": "pier-healthcheck"})
        response = connection.getresponse()
        body = response.read(65536).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()
    return 200 <= response.status < 400 and check.content in body


def app_key(labels: dict[str, str]) -> str:
    """Return the app id a container belongs to (its name, for containers from before ids)."""
    return labels.get("pier.app-id") or labels["pier.app"]

