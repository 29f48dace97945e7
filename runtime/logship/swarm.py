"""Follow the output of every Swarm task of the apps, on every node, into its app's stream.

The manager's task log API streams a task's output from whichever node runs it, in the
same framing as a container's, so :class:`TaskShipper` is the Docker
:class:`~runtime.logship.follower.Shipper` with tasks where containers were: one
:class:`~runtime.logship.follower.Follower` per task, resuming from the last shipped
timestamp kept per task id. The engine emits no event when a task starts, so tasks are
found by a rescan every ``rescan`` seconds (one services and one tasks request).
"""

from __future__ import annotations

from runtime.backends.base import APP_PORT
from runtime.backends.docker import app_key
from runtime.backends.swarm import STARTING, node_address, published_address
from runtime.logship.follower import Shipper


class TaskShipper(Shipper):
    follow_kind = "tasks"

    def __init__(self, docker_client, redis_client, *, rescan: float = 1.0, **options) -> None:
        super().__init__(docker_client, redis_client, rescan=rescan, **options)

    def dyno_for(self, address: str) -> str | None:
        # Every process of a node shares its address: the published port tells them apart.
        return self._addresses.get(address)

    def scan(self) -> None:
        api = self.docker.api
        services = {s["ID"]: s for s in api.services(filters={"label": self._filters()})}
        tasks = api.tasks(filters={"service": list(services)}) if services else []
        nodes = {n["ID"]: n for n in api.nodes()} if tasks else {}
        since = self._since_marks()
        present = set()
        for task in tasks:
            status = task.get("Status") or {}
            if status.get("State") in STARTING:
                continue  # no output before its container exists
            labels = services[task["ServiceID"]]["Spec"]["Labels"]
            dyno = f"{labels.get('pier.process')}.{labels.get('pier.index')}"
            node = nodes.get(task.get("NodeID", "")) or {}
            if address := published_address(node, status, APP_PORT):
                self._addresses[address] = dyno
            present.add(task["ID"])
            running = status.get("State") == "running" and bool(node_address(node))
            self._start(task["ID"], app_key(labels), dyno, since.get(task["ID"]), running)
        self._forget_vanished(present, since)

    def _watch_events(self) -> None:
        """Nothing to watch: Swarm has no task events (the rescan finds new tasks)."""
