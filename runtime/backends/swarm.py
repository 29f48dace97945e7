"""Run app processes as Docker Swarm services, across every node of a cluster.

The backend talks to one Swarm manager (``DOCKER_HOST``, like the Docker backend) and
never to the other nodes: the cluster is one engine.

**One service per process** (``web.1``, ``web.2`` ... each a service of one replica), not
one service per process type with replicas. The contract and the reconciler work per
process: a restart token can restart just ``web.2``; a deploy starts the new release's
``web.1`` beside the old one, waits until it is healthy, switches the router, then stops
the old one; crashes are restarted by the reconciler with its backoff, counted in
``pier.restarts``. A replicated service would do its own rolling update and restarts
behind the reconciler's back, with task slots that do not survive a scale down the way
process indexes must. The price is one service object per process, which Swarm handles
by the thousand. Spread comes from Swarm's scheduler, which puts a new task on the node
running the fewest tasks; a node that comes back empty gets work again at the next start
(scale, deploy, restart): processes are never moved just to rebalance.

Services carry the Docker backend's labels (``pier.app-id``, ``pier.release``,
``pier.process``, ``pier.index``, ``pier.restart``, ``pier.restarts``) and
:meth:`Backend.list_processes` reads state back from services, their tasks and the
nodes, so the reconciler derives everything from the engine. A task on a node that is
down counts as crashed: the reconciler replaces it and Swarm places the replacement on a
node that is up. Restart policy ``none`` for the same reason as on one host: restarts are
the reconciler's. Limits: memory (no swap), processes, and a memory *reservation* of the
same size, so Swarm refuses to place more than a node holds and scaling past the
cluster's capacity fails clearly instead of overcommitting.

**Routing** reaches each process by its own address, never through Swarm's VIPs or
ingress mesh (an extra hop, and IPVS, which some kernels lack): each service publishes
PORT in *host mode* on an engine-chosen port of its node, so a process's address is
``<node address>:<published port>``. The router needs no overlay network and no Swarm
membership, only a route to the nodes; an overlay with the router attached was the other
option, and would make the router a Swarm container. Processes join no overlay network:
apps on different nodes have no network in common.

**One-offs** (``pier run``, the release phase) run as plain containers on the manager,
exactly as the Docker backend runs them (leases, reaping, terminals). Attaching a
terminal to a task on another node would need that node's Docker API reachable from the
control plane; keeping every daemon socket private is worth more than spreading one-offs.

**Images** come from a registry every node reaches: a build pushes to Pier's registry
and the desired state names the pushed image (``DesiredApp.image_ref``); each service
carries a pull credential from ``registry_auth`` (a short-lived token of Pier's, granting
pull on that one repository). Swarm keeps it with the service for the node that runs the
task; it never reschedules a task by itself (the reconciler starts a replacement, with a
fresh credential), so the token has to outlive only that first pull.

**Logs**: :class:`runtime.logship.swarm.TaskShipper` follows each task's output through
the manager's task log API, which streams it from whichever node runs the task.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import secrets
import time
from collections.abc import Callable, Sequence

import docker
import docker.auth
import docker.errors

from runtime.backends import docker as single
from runtime.backends.base import BaseBackend, process_env, shell_command
from runtime.desired import DesiredApp, ProcessSpec, ProcessStatus
from runtime.errors import BackendUnavailable, StartFailed

logger = logging.getLogger(__name__)

# Swarm task states that come before "running" (a task on its way up).
STARTING = {"new", "allocated", "pending", "assigned", "accepted", "preparing", "ready",
            "starting"}
# Swarm service names are DNS labels.
MAX_SERVICE_NAME = 63
# Appended to the restart token of a process on a node that is not active (see _status).
DRAINED = "+drained"
NANO = 1_000_000_000


class Backend(single.Backend):
    """App processes as one-replica Swarm services (see the module docstring for why)."""

    # A start mostly waits: for the manager to schedule, a node to pull and run the task.
    starts_at_once = 16

    def __init__(self, *, start_timeout: float = 120.0, manager: str = "",
                 registry_auth: Callable[[str], dict | None] | None = None,
                 **options) -> None:
        """``start_timeout``: how long a start may wait for its task to run (image pulls).

        ``manager``: the manager's Docker API (a DOCKER_HOST URL) when it is not the local
        engine, which then only builds. ``registry_auth(image)``: the credential nodes
        pull ``image`` with (an auth config: ``registrytoken``, or username and password),
        or None for an image that needs none.
        """
        if manager and options.get("client") is None:
            with single._engine():  # a manager that does not answer: BackendUnavailable
                options["client"] = docker.DockerClient(base_url=manager, timeout=120)
        super().__init__(**options)
        self.start_timeout = start_timeout
        self.registry_auth = registry_auth or (lambda image: None)

    # -- network ----------------------------------------------------------------

    def ensure_network(self) -> None:
        """Check the engine is a Swarm manager; create the one-offs' local bridge."""
        with single._engine():
            swarm = self.client.info().get("Swarm") or {}
        if swarm.get("LocalNodeState") != "active" or not swarm.get("ControlAvailable"):
            raise BackendUnavailable(
                "the Docker engine at DOCKER_HOST is not a Swarm manager: run `docker swarm "
                "init` on it (or point DOCKER_HOST at a manager), or use "
                "PIER_RUNTIME_BACKEND=runtime.backends.docker.Backend")
        super().ensure_network()

    # -- processes --------------------------------------------------------------

    def running_processes(self) -> list[ProcessStatus]:
        """Processes by service (one listing of services and tasks, not a container's id).

        Their cgroups are on whichever node runs them: the metrics collector on the
        manager reads CPU and memory only of those it finds there.
        """
        return BaseBackend.running_processes(self)

    def list_processes(self, app: str | None = None) -> list[ProcessStatus]:
        with single._engine():
            services = self.client.api.services(filters=self._filters(app))
            if not services:
                return []
            tasks = self.client.api.tasks(filters={"service": [s["ID"] for s in services]})
            nodes = {n["ID"]: n for n in self.client.api.nodes()}
        latest: dict[str, dict] = {}
        for task in tasks:
            seen = latest.get(task["ServiceID"])
            if seen is None or task["CreatedAt"] > seen["CreatedAt"]:
                latest[task["ServiceID"]] = task
        statuses = [self._status(s, latest.get(s["ID"]), nodes) for s in services]
        return sorted(statuses, key=lambda p: (p.app, p.release, p.type, p.index))

    def _status(self, service: dict, task: dict | None, nodes: dict[str, dict]) -> ProcessStatus:
        labels = service["Spec"]["Labels"]
        status = (task or {}).get("Status") or {}
        node = nodes.get((task or {}).get("NodeID", "")) or {}
        state = task_state(status.get("State", "new"), node)
        token = labels.get("pier.restart", "")
        if state != "crashed" and availability(node) != "active":
            # A process on a node being drained is stale: the reconciler replaces it on
            # an active node the way it rolls a restart (a web process stops only once
            # its replacement is healthy), which Swarm's own drain would not wait for.
            token += DRAINED
        address = None
        if state == "up":
            address = published_address(node, status, self.port)
        exit_code = (status.get("ContainerStatus") or {}).get("ExitCode")
        when = single._timestamp(status.get("Timestamp"))
        return ProcessStatus(
            app=single.app_key(labels),
            type=labels["pier.process"],
            index=int(labels["pier.index"]),
            release=int(labels["pier.release"]),
            state=state,
            address=address,
            # The task's own start time is not kept: its service was created just before.
            started_at=single._timestamp(service.get("CreatedAt")),
            finished_at=when if state == "crashed" else None,
            restarts=int(labels.get("pier.restarts", "0")),
            exit_code=exit_code if state == "crashed" else None,
            container_id=service["ID"],
            restart_token=token,
            node=(node.get("Description") or {}).get("Hostname", ""),
        )

    def service_name(self, app: DesiredApp, dyno: str) -> str:
        """A DNS label naming the process: readable, and unique (a replacement of a
        process, drained or restarted, runs beside it for a while)."""
        unique = secrets.token_hex(4)
        readable = re.sub(r"[^a-zA-Z0-9-]", "-", f"{app.name}-v{app.release}-{dyno}")
        room = MAX_SERVICE_NAME - len(self.name_prefix) - len(unique) - 1
        return f"{self.name_prefix}{readable[:room].rstrip('-')}-{unique}"

    def start_process(
        self, app: DesiredApp, spec: ProcessSpec, index: int, *, restarts: int = 0
    ) -> ProcessStatus:
        dyno = f"{spec.type}.{index}"
        labels = self._process_labels(app, spec, index, restarts)
        if self._twins(labels):
            raise StartFailed(f"{app.name} {dyno}: release {app.release} already runs it")
        with single._engine():
            try:
                created = self._create_service({
                    "Name": self.service_name(app, dyno),
                    "Labels": labels,
                    "TaskTemplate": self._task_template(app, spec, dyno, labels),
                    "Mode": {"Replicated": {"Replicas": 1}},
                    "EndpointSpec": {"Mode": "dnsrr", "Ports": [
                        {"Protocol": "tcp", "TargetPort": self.port, "PublishMode": "host"}]},
                })
            except docker.errors.APIError as e:
                raise StartFailed(f"{app.name} {dyno}: {e.explanation or e}") from e
        return self._wait_placed(app, dyno, created["ID"])

    def _create_service(self, spec: dict) -> dict:
        """POST /services/create with the image's own pull credential.

        The SDK's create_service sends only what a login stored on the client, one per
        registry, where each app's image needs a credential of its own, so the request is
        made here, as the SDK makes it, with the X-Registry-Auth header of the image.
        """
        api = self.client.api
        headers = {}
        if auth := self.registry_auth(spec["TaskTemplate"]["ContainerSpec"]["Image"]):
            headers["X-Registry-Auth"] = docker.auth.encode_header(auth)
        response = api._post_json(api._url("/services/create"), data=spec, headers=headers)
        return api._result(response, json=True)

    def _twins(self, labels: dict[str, str]) -> list[ProcessStatus]:
        """The processes a start with these labels would duplicate: same labels, and not
        stale (on a node being drained, a process's replacement has its very labels)."""
        with single._engine():
            same = self.client.api.services(
                filters={"label": [f"{k}={v}" for k, v in labels.items()
                                   if k != "pier.restarts"]})
        if not same:  # the usual case, in one request
            return []
        return [p for p in self.list_processes(labels["pier.app-id"])
                if p.container_id in {s["ID"] for s in same}
                and p.restart_token == labels["pier.restart"]]

    def _task_template(self, app: DesiredApp, spec: ProcessSpec, dyno: str,
                       labels: dict[str, str]) -> dict:
        env = process_env(app, dyno, self.port)
        container = {
            "Image": image_of(app),
            "Env": [f"{k}={v}" for k, v in env.items()],
            "User": self.user,
            "Labels": labels,
            "Init": True,  # a real PID 1 forwards SIGTERM and reaps zombies
            "CapabilityDrop": ["ALL"],  # untrusted code binds $PORT (above 1024)
            "StopGracePeriod": int(app.stop_grace * NANO),
        }
        if args := shell_command(spec.command):
            container["Args"] = args  # Swarm's Command is the entrypoint; Args is CMD
        memory = spec.memory_mb * 1024 * 1024
        limits = {"MemoryBytes": memory}
        if spec.max_processes:
            limits["Pids"] = spec.max_processes
        return {
            "ContainerSpec": container,
            "Resources": {"Limits": limits, "Reservations": {"MemoryBytes": memory}},
            "RestartPolicy": {"Condition": "none"},
            "Networks": [{"Target": network} for network in app.networks],
        }

    def _wait_placed(self, app: DesiredApp, dyno: str, service_id: str) -> ProcessStatus:
        """Wait until the process runs (or failed); a process no node can hold is refused."""
        deadline = time.monotonic() + self.start_timeout
        while True:
            with single._engine():
                service = self.client.api.inspect_service(service_id)
                tasks = self.client.api.tasks(filters={"service": service_id})
            task = max(tasks, key=lambda t: t["CreatedAt"]) if tasks else None
            status = (task or {}).get("Status") or {}
            if status.get("State") == "pending" and "no suitable node" in status.get("Err", ""):
                self._remove_service(service_id)
                raise StartFailed(
                    f"{app.name} {dyno}: no node of the cluster can run it "
                    f"({status['Err']}): add a node (pier nodes:join-command), activate a "
                    "drained one, or scale down or to a smaller size")
            if task and status.get("State") not in STARTING or time.monotonic() > deadline:
                with single._engine():
                    nodes = {n["ID"]: n for n in self.client.api.nodes()}
                return self._status(service, task, nodes)
            time.sleep(0.2)

    def _remove_service(self, service_id: str) -> None:
        with single._engine():
            try:
                self.client.api.remove_service(service_id)
            except docker.errors.NotFound:
                pass

    def stop_process(self, status: ProcessStatus, grace: float = 30.0) -> None:
        # The node's agent sends SIGTERM, waits the service's StopGracePeriod (the app's
        # stop_grace, set at start), then SIGKILL; the process is forgotten at once.
        self._remove_service(status.container_id)

    def remove(self, status: ProcessStatus) -> None:
        self._remove_service(status.container_id)

    # -- one-off processes: plain containers on the manager ------------------------

    def _create_oneoff(self, app: DesiredApp, command: str | Sequence[str], dyno: str,
                       memory_mb: int, **extra):
        # The manager pulls what the nodes pull: the release's image from the registry.
        image = image_of(app)
        with single._engine():
            try:
                self.client.images.get(image)
            except docker.errors.ImageNotFound:
                try:
                    self.client.images.pull(image, auth_config=self.registry_auth(image))
                except docker.errors.APIError as e:
                    raise StartFailed(f"{app.name} {dyno}: cannot pull {image}: "
                                      f"{e.explanation or e}") from e
        return super()._create_oneoff(dataclasses.replace(app, image=image), command, dyno,
                                      memory_mb, **extra)

    # -- output -----------------------------------------------------------------

    def output_shipper(self, redis_client, *, writer=None):
        from runtime.logship.swarm import TaskShipper

        return TaskShipper(self.client, redis_client, writer=writer, labels=self.labels)


def image_of(app: DesiredApp) -> str:
    """The image every node can pull: the release's in the registry, when it was pushed."""
    return app.image_ref or app.image


def task_state(state: str, node: dict) -> str:
    """Map a Swarm task state to a process state; a task on a node that is down crashed."""
    if state in STARTING:
        return "starting"
    if state == "running":
        down = (node.get("Status") or {}).get("State") not in ("ready", None)
        return "crashed" if down else "up"
    return "crashed"


def availability(node: dict) -> str:
    """A node's availability (active, pause or drain); active when unknown."""
    return (node.get("Spec") or {}).get("Availability", "active")


def published_address(node: dict, status: dict, target: int) -> str | None:
    """Return ``<node address>:<host port>`` where a task's PORT is published."""
    ports = (status.get("PortStatus") or {}).get("Ports") or []
    port = next((p.get("PublishedPort") for p in ports if p.get("TargetPort") == target), None)
    address = node_address(node)
    return f"{address}:{port}" if port and address else None


def node_address(node: dict) -> str:
    """A node's address; a manager may report 0.0.0.0 there, then its advertised one."""
    address = (node.get("Status") or {}).get("Addr", "")
    if address in ("", "0.0.0.0"):
        address = ((node.get("ManagerStatus") or {}).get("Addr") or "").rpartition(":")[0]
    return address
