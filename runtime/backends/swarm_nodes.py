"""The machines of a Swarm cluster as Pier shows and manages them (``pier nodes``).

Read from the manager the backend talks to, like everything else: nodes, their
resources, and the app processes each runs (its tasks of Pier's services).

Pier's *drain* is Swarm's ``pause`` availability plus the reconciler: a paused node
takes no new task, and :mod:`runtime.backends.swarm` reports the processes still on it as
stale, so they move the way a restart rolls (a web process is stopped only once its
replacement elsewhere is healthy: no failed request). Swarm's own ``drain`` stops them
first and starts replacements after. ``activate`` makes the node take work again; the
processes that left do not come back by themselves (the next scale or deploy places new
ones there, the scheduler preferring the emptiest node).
"""

from __future__ import annotations

from dataclasses import dataclass

from runtime.backends import docker as single
from runtime.backends.swarm import availability, node_address
from runtime.errors import EngineError, Invalid

# What Pier calls each Swarm availability.
AVAILABILITY = {"active": "active", "pause": "drain", "drain": "drain"}


@dataclass(frozen=True)
class Node:
    id: str
    hostname: str
    address: str
    role: str  # manager or worker
    state: str  # ready, down, unknown, disconnected
    availability: str  # active or drain
    processes: int  # app processes running there
    cpus: float
    memory_mb: int
    memory_reserved_mb: int  # what its app processes reserve (their size's memory)


class Nodes:
    """List the cluster's nodes, drain and activate them, tell how to join it."""

    def __init__(self, backend) -> None:
        self.backend = backend

    @property
    def api(self):
        return self.backend.client.api

    def list(self) -> list[Node]:
        with single._engine():
            nodes = self.api.nodes()
            services = self.api.services(filters=self.backend._filters())
            tasks = self.api.tasks(filters={"service": [s["ID"] for s in services],
                                            "desired-state": "running"}) if services else []
        running = [t for t in tasks if (t.get("Status") or {}).get("State") == "running"]
        return sorted((self._node(n, running) for n in nodes), key=lambda n: n.hostname)

    @staticmethod
    def _node(node: dict, tasks: list[dict]) -> Node:
        here = [t for t in tasks if t.get("NodeID") == node["ID"]]
        reserved = sum(((t["Spec"].get("Resources") or {}).get("Reservations") or {})
                       .get("MemoryBytes", 0) for t in here)
        resources = node["Description"].get("Resources") or {}
        return Node(
            id=node["ID"],
            hostname=node["Description"]["Hostname"],
            address=node_address(node),
            role=node["Spec"].get("Role", "worker"),
            state=(node.get("Status") or {}).get("State", "unknown"),
            availability=AVAILABILITY.get(availability(node), availability(node)),
            processes=len(here),
            cpus=resources.get("NanoCPUs", 0) / 1e9,
            memory_mb=resources.get("MemoryBytes", 0) // 2**20,
            memory_reserved_mb=reserved // 2**20,
        )

    def find(self, name: str) -> Node:
        """The node whose hostname or id (or the start of its id) is ``name``."""
        nodes = self.list()
        found = [n for n in nodes if name in (n.hostname, n.id)] or \
            [n for n in nodes if len(name) >= 4 and n.id.startswith(name)]
        if len(found) != 1:
            known = ", ".join(n.hostname for n in nodes)
            raise Invalid(f"no node {name!r}: the nodes are {known} (see `pier nodes`)")
        return found[0]

    def drain(self, name: str) -> Node:
        node = self.find(name)
        others = [n for n in self.list() if n.id != node.id and n.state == "ready"
                  and n.availability == "active"]
        if not others:
            raise Invalid(f"{node.hostname} is the last active node: draining it would leave "
                          "the apps nowhere to run. Join another node first "
                          "(`pier nodes:join-command`), or activate a drained one.")
        self._set_availability(node, "pause")
        return self.find(node.id)

    def activate(self, name: str) -> Node:
        node = self.find(name)
        self._set_availability(node, "active")
        return self.find(node.id)

    def _set_availability(self, node: Node, value: str) -> None:
        with single._engine():
            spec = self.api.inspect_node(node.id)
            self.api.update_node(node.id, spec["Version"]["Index"],
                                 {**spec["Spec"], "Availability": value})

    def join_command(self) -> str:
        """The command that joins a new machine to the cluster as a worker."""
        with single._engine():
            token = self.backend.client.swarm.attrs["JoinTokens"]["Worker"]
            managers = [m.get("Addr") for m in
                        (self.backend.client.info().get("Swarm") or {}).get("RemoteManagers")
                        or []]
        if not managers:
            raise EngineError("the Swarm has no manager address to join")
        return f"docker swarm join --token {token} {managers[0]}"
