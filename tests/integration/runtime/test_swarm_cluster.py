"""Apps on a real 3-node Swarm behind the real router, driven by the reconciler.

The image comes from the cluster's registry (nodes pull it); the router runs on this
host and reaches every process at its node's address. Node faults come last: a killed
node is started again before the test ends.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid

import httpx
import pytest
from rt_helpers import converge, make_app

from runtime import applog
from runtime.backends.swarm_nodes import Nodes
from runtime.desired import ProcessSpec
from runtime.errors import BackendUnavailable, Invalid, StartFailed
from runtime.reconciler import Reconciler
from tests.helpers import busybox_tar, wait_for

pytestmark = pytest.mark.swarm

# Each process answers with its own dyno name, so a response tells who served it.
WHOAMI = ('mkdir -p /tmp/www && echo "$DYNO" > /tmp/www/index.html && '
          "exec httpd -f -p $PORT -h /tmp/www")


@pytest.fixture(scope="module")
def registry_image(swarm_cluster):
    """The busybox test image, pushed to the cluster's registry (not on nodes 2 and 3)."""
    return swarm_cluster.push(busybox_tar("/bin/busybox"), "pier/swarm-test:1",
                              ['CMD ["/bin/sh"]'])


@pytest.fixture
def swarm_reconciler(swarm_backend, router, events):
    return Reconciler(swarm_backend, router, events=events.append, domain="localhost")


@pytest.fixture
def nodes(swarm_backend, swarm_cluster):
    nodes = Nodes(swarm_backend)
    yield nodes
    for i in range(1, swarm_cluster.size + 1):
        nodes.activate(swarm_cluster.hostname(i))


def get(port: int, host: str) -> httpx.Response:
    with httpx.Client(timeout=10) as client:
        return client.get(f"http://127.0.0.1:{port}/", headers={"Host": host})


def whoami_app(name: str, image: str, web: int = 3):
    return make_app(name, web=web, command=WHOAMI, image=image)


def placement(backend, app: str) -> dict[str, str]:
    """dyno -> hostname of the node running it, for the app's processes that are up."""
    return {p.name: p.node for p in backend.list_processes(app) if p.state == "up"}


class Load:
    """Requests through the router in a loop, counting those that fail."""

    def __init__(self, port: int, host: str) -> None:
        self.port, self.host = port, host
        self.ok, self.failed, self.done = 0, [], threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        while not self.done.is_set():
            try:
                response = get(self.port, self.host)
                if response.status_code == 200:
                    self.ok += 1
                else:
                    self.failed.append(response.status_code)
            except httpx.HTTPError as e:
                self.failed.append(repr(e))

    def __enter__(self) -> Load:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.thread.join()


def test_web_3_from_the_registry_spreads_over_3_nodes_each_answering_through_the_router(
        swarm_reconciler, swarm_backend, swarm_cluster, registry_image, live_router):
    _, port, _ = live_router
    converge(swarm_reconciler, [whoami_app("rt-spread", registry_image)], timeout=120)
    where = placement(swarm_backend, "rt-spread")
    assert sorted(where) == ["web.1", "web.2", "web.3"]
    assert sorted(where.values()) == [swarm_cluster.hostname(i) for i in (1, 2, 3)]
    answered = {get(port, "rt-spread.localhost").text.strip() for _ in range(30)}
    assert answered == {"web.1", "web.2", "web.3"}


def test_scaling_past_the_cluster_s_capacity_is_a_clear_error(swarm_backend, registry_image):
    app = make_app("rt-huge", image=registry_image)
    huge = ProcessSpec("web", 1, "sleep 600", memory_mb=64 * 2**20)  # 64 TB
    with pytest.raises(StartFailed, match="no node of the cluster can run it"):
        swarm_backend.start_process(app, huge, 1)
    assert swarm_backend.list_processes("rt-huge") == []  # nothing left half-started


def test_a_formation_past_capacity_is_said_once_in_the_app_s_log(
        swarm_reconciler, swarm_backend, registry_image, events):
    app = make_app("rt-toobig", image=registry_image)
    app = dataclasses.replace(app, formation=(
        dataclasses.replace(app.formation[0], memory_mb=64 * 2**20),))
    for _ in range(3):
        result = swarm_reconciler.reconcile([app])
        assert result.pending and "no node of the cluster can run it" in result.errors[0]
    said = [e.message for e in events if e.kind == "error"]
    assert len(said) == 1 and "add a node (pier nodes:join-command)" in said[0]
    assert swarm_backend.list_processes("rt-toobig") == []


def test_draining_the_last_active_node_is_refused(nodes, swarm_cluster):
    nodes.drain(swarm_cluster.hostname(2))
    nodes.drain(swarm_cluster.hostname(3))
    with pytest.raises(Invalid, match="last active node"):
        nodes.drain(swarm_cluster.hostname(1))
    assert nodes.find(swarm_cluster.hostname(1)).availability == "active"
    with pytest.raises(Invalid, match="no node 'nope'"):
        nodes.drain("nope")


def test_drain_moves_processes_with_zero_failed_requests(
        swarm_reconciler, swarm_backend, swarm_cluster, registry_image, live_router, nodes):
    _, port, _ = live_router
    desired = [whoami_app("rt-drain", registry_image)]
    converge(swarm_reconciler, desired, timeout=120)
    drained = swarm_cluster.hostname(2)
    assert drained in placement(swarm_backend, "rt-drain").values()
    with Load(port, "rt-drain.localhost") as load:
        assert nodes.drain(drained).availability == "drain"
        converge(swarm_reconciler, desired, timeout=120)
        time.sleep(2)  # the old process stops in the background; keep the load on
    where = placement(swarm_backend, "rt-drain")
    assert sorted(where) == ["web.1", "web.2", "web.3"] and drained not in where.values()
    assert load.failed == [] and load.ok > 0
    assert nodes.find(drained).processes == 0
    assert nodes.activate(drained).availability == "active"


def test_listed_nodes(nodes, swarm_cluster):
    listed = nodes.list()
    assert [n.hostname for n in listed] == [swarm_cluster.hostname(i) for i in (1, 2, 3)]
    assert [n.address for n in listed] == [swarm_cluster.address(i) for i in (1, 2, 3)]
    assert [n.role for n in listed] == ["manager", "worker", "worker"]
    assert {(n.state, n.availability) for n in listed} == {("ready", "active")}
    assert all(n.cpus > 0 and n.memory_mb > 0 for n in listed)
    command = nodes.join_command()
    assert command.startswith("docker swarm join --token SWMTKN-")
    assert command.endswith(f"{swarm_cluster.address(1)}:2377")


def stream_lines(redis_client, app_id: str) -> list[tuple[str, str]]:
    entries = redis_client.xrange(applog.stream_key(app_id))
    return [(line.dyno, line.message)
            for line in (applog.LogLine.from_entry(*entry) for entry in entries)]


def test_logs_from_every_node_reach_the_stream_once_across_a_shipper_restart(
        swarm_backend, swarm_cluster, registry_image, redis_client):
    app_id = f"rt-logs-{uuid.uuid4().hex[:6]}"
    app = make_app(app_id, web=3, image=registry_image,
                   command='echo "first $DYNO"; sleep 4; echo "second $DYNO"; exec sleep 600')
    first = swarm_backend.output_shipper(redis_client)
    first.start()
    try:
        started = [swarm_backend.start_process(app, app.spec("web"), i) for i in (1, 2, 3)]
        assert len({p.node for p in started}) == 3  # one process on every node
        wait_for(lambda: len(stream_lines(redis_client, app_id)) >= 3)
    finally:
        first.stop()
    # The second lines are printed while no shipper runs; the next one resumes.
    time.sleep(5)
    second = swarm_backend.output_shipper(redis_client)
    second.start()
    try:
        wait_for(lambda: len(stream_lines(redis_client, app_id)) >= 6)
        time.sleep(2)  # a line shipped twice would show up by now
        assert sorted(stream_lines(redis_client, app_id)) == sorted(
            (f"web.{i}", f"{word} web.{i}") for i in (1, 2, 3) for word in ("first", "second"))
        assert {second.dyno_for(p.address) for p in started} == {"web.1", "web.2", "web.3"}
    finally:
        second.stop()
        redis_client.delete(applog.stream_key(app_id))


def test_a_machine_joins_with_the_join_command_and_not_with_a_wrong_token(
        nodes, swarm_cluster):
    import docker.errors

    swarm_cluster.script("add", "4")  # a fresh dockerd, in no Swarm yet
    machine = swarm_cluster.client(4)
    _, _, _, _, token, manager = nodes.join_command().split()
    where = {"remote_addrs": [manager], "advertise_addr": swarm_cluster.address(4),
             "listen_addr": f"{swarm_cluster.address(4)}:2377"}
    try:
        wrong = token[:-6] + ("aaaaaa" if not token.endswith("aaaaaa") else "bbbbbb")
        with pytest.raises(docker.errors.APIError, match="token"):
            machine.swarm.join(join_token=wrong, **where)
        assert len(nodes.list()) == 3
        machine.swarm.join(join_token=token, **where)
        joined = wait_for(lambda: [n for n in nodes.list() if n.hostname ==
                                   swarm_cluster.hostname(4) and n.state == "ready"])
        assert joined[0].role == "worker" and joined[0].address == swarm_cluster.address(4)
    finally:
        machine.swarm.leave(force=True)
        swarm_cluster.kill(4)
        if any(n.hostname == swarm_cluster.hostname(4) for n in nodes.list()):
            gone = wait_for(lambda: [n for n in nodes.list() if n.state == "down"])
            swarm_cluster.client(1).api.remove_node(gone[0].id, force=True)


def test_apps_keep_serving_while_the_manager_s_daemon_is_down(
        swarm_reconciler, swarm_backend, swarm_cluster, registry_image, live_router, capsys):
    _, port, _ = live_router
    desired = [whoami_app("rt-manager", registry_image)]
    converge(swarm_reconciler, desired, timeout=120)
    down = False
    try:
        with Load(port, "rt-manager.localhost") as load:
            swarm_cluster.kill(1)  # its dockerd and the processes it ran (web.N on it)
            down = True
            with pytest.raises(BackendUnavailable):
                swarm_backend.list_processes()
            time.sleep(3)
            served_while_down = load.ok
            swarm_cluster.start(1)
            down = False
            swarm_cluster.wait_ready()
            converge(swarm_reconciler, desired, timeout=120)
        with capsys.disabled():
            print(f"\nmanager's daemon killed under load: {len(load.failed)} failed of "
                  f"{len(load.failed) + load.ok} requests")
        assert served_while_down > 0  # the processes on the other nodes kept answering
        answered = {get(port, "rt-manager.localhost").text.strip() for _ in range(30)}
        assert answered == {"web.1", "web.2", "web.3"}
    finally:
        if down:
            swarm_cluster.start(1)
            swarm_cluster.wait_ready()


def node_lost_under_load(reconciler, backend, nodes, desired, port: int, lost: str,
                         lose) -> tuple[Load, float]:
    """Call ``lose`` (node ``lost`` killed or cut off) under a load loop to the app; wait
    until the manager marks that node down and web.1-3 run again on the other nodes.
    Return the load and the seconds from the loss until they did."""
    app = desired[0].name
    with Load(port, f"{app}.localhost") as load:
        lose()
        since = time.monotonic()
        while nodes.find(lost).state == "ready":  # until the manager misses heartbeats
            reconciler.reconcile(desired)
            time.sleep(0.2)
        converge(reconciler, desired, timeout=120)
        recovered = time.monotonic() - since
        time.sleep(1)
    where = placement(backend, app)
    assert sorted(where) == ["web.1", "web.2", "web.3"] and lost not in where.values()
    return load, recovered


def test_killed_node_s_processes_are_replaced_on_the_others(
        swarm_reconciler, swarm_backend, swarm_cluster, registry_image, live_router, nodes,
        capsys):
    _, port, _ = live_router
    desired = [whoami_app("rt-kill", registry_image)]
    converge(swarm_reconciler, desired, timeout=120)
    lost = swarm_cluster.hostname(3)
    assert lost in placement(swarm_backend, "rt-kill").values()
    try:
        load, recovered = node_lost_under_load(swarm_reconciler, swarm_backend, nodes,
                                               desired, port, lost, lambda: swarm_cluster.kill(3))
        with capsys.disabled():
            print(f"\nnode killed under load: {len(load.failed)} failed of "
                  f"{len(load.failed) + load.ok} requests; 3 processes up again after "
                  f"{recovered:.1f} s")
        answered = {get(port, "rt-kill.localhost").text.strip() for _ in range(30)}
        assert answered == {"web.1", "web.2", "web.3"}
    finally:
        swarm_cluster.start(3)
        swarm_cluster.wait_ready()


def test_a_node_partitioned_away_is_replaced_and_runs_nothing_twice_when_it_returns(
        swarm_reconciler, swarm_backend, swarm_cluster, registry_image, live_router, nodes,
        capsys):
    _, port, _ = live_router
    desired = [whoami_app("rt-split", registry_image)]
    converge(swarm_reconciler, desired, timeout=120)
    cut = swarm_cluster.hostname(3)
    assert cut in placement(swarm_backend, "rt-split").values()
    try:
        load, _ = node_lost_under_load(swarm_reconciler, swarm_backend, nodes, desired, port,
                                       cut, lambda: swarm_cluster.partition(3))
        with capsys.disabled():
            print(f"\nnode partitioned away under load: {len(load.failed)} failed of "
                  f"{len(load.failed) + load.ok} requests")
    finally:
        swarm_cluster.heal(3)
    swarm_cluster.wait_ready()
    # Back, the node learns its process was replaced and stops it: none runs twice.
    wait_for(lambda: not [c for c in swarm_cluster.client(3).containers.list()
                          if c.labels.get("pier.app-id") == "rt-split"], timeout=60)
    converge(swarm_reconciler, desired, timeout=60)
    answered = {get(port, "rt-split.localhost").text.strip() for _ in range(30)}
    assert answered == {"web.1", "web.2", "web.3"}
