"""`pier nodes` and friends against the real API, on a real 3-node Swarm."""

import json

import pytest

pytestmark = pytest.mark.swarm


@pytest.fixture
def on_swarm(swarm_cluster, settings, redis_client):
    """The control plane runs apps with the Swarm backend, on the cluster's manager (and
    a registry setting, which that backend needs; these tests push nothing)."""
    settings.PIER_RUNTIME_BACKEND = "runtime.backends.swarm.Backend"
    settings.PIER_SWARM_MANAGER = swarm_cluster.docker_host(1)
    settings.PIER_REGISTRY = swarm_cluster.registry
    yield swarm_cluster
    for i in range(1, swarm_cluster.size + 1):
        node = swarm_cluster.client(1).nodes.get(swarm_cluster.hostname(i))
        node.update({**node.attrs["Spec"], "Availability": "active"})


@pytest.fixture
def operator(owner):
    owner.is_staff = True
    owner.save(update_fields=["is_staff"])
    return owner


def test_operator_lists_drains_and_activates_nodes(pier, operator, on_swarm):
    listed = pier("nodes")
    assert listed.exit_code == 0, listed.output
    for i in (1, 2, 3):
        assert on_swarm.hostname(i) in listed.output and on_swarm.address(i) in listed.output
    assert "manager" in listed.output and "worker" in listed.output
    nodes = json.loads(pier("nodes", "--json").output)
    assert [n["availability"] for n in nodes] == ["active"] * 3

    joined = pier("nodes:join-command")
    assert joined.output.startswith("docker swarm join --token SWMTKN-")

    n2, n3, n1 = on_swarm.hostname(2), on_swarm.hostname(3), on_swarm.hostname(1)
    assert pier("nodes:drain", n2).exit_code == 0
    assert pier("nodes:drain", n3).exit_code == 0
    refused = pier("nodes:drain", n1)
    assert refused.exit_code != 0 and "last active node" in refused.output
    unknown = pier("nodes:drain", "nope")
    assert unknown.exit_code != 0 and f"the nodes are {n1}, {n2}, {n3}" in unknown.output
    assert pier("nodes:activate", n2).exit_code == 0
    nodes = {n["hostname"]: n["availability"] for n in json.loads(pier("nodes", "--json").output)}
    assert nodes == {n1: "active", n2: "active", n3: "drain"}


def test_nodes_are_for_operators_only(pier, owner, on_swarm):
    refused = pier("nodes")
    assert refused.exit_code != 0 and "Pier's operators" in refused.output
    assert pier("nodes:drain", on_swarm.hostname(2)).exit_code != 0


def test_nodes_need_the_swarm_backend(pier, operator, settings):
    settings.PIER_RUNTIME_BACKEND = "runtime.backends.memory.Backend"
    answer = pier("nodes")
    assert answer.exit_code != 0
    assert "PIER_RUNTIME_BACKEND=runtime.backends.swarm.Backend" in answer.output
