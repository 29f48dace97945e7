"""`git push` on a Pier whose apps run on a real 3-node Swarm (`manage.py up` with the
Swarm backend): the build pushes its image to Pier's registry, every node pulls it from
there with a credential of that app's alone, and web=3 spreads over the three nodes, each
process answering through the router on this host.

The host's engine builds and pushes to 127.0.0.1:<port>; the cluster fixture makes that
same name reach the host from every node (swarm-cluster.sh forward), as one registry name
does on a real cluster.
"""

import pytest

from tests.e2e.conftest import platform_label, platform_running, push_server
from tests.e2e.helpers import pier, scale
from tests.helpers import free_port, wait_for

pytestmark = pytest.mark.swarm


@pytest.fixture(scope="module")
def swarm_platform(tmp_path_factory, swarm_cluster):
    registry = free_port()
    swarm_cluster.forward(registry)
    with platform_running(tmp_path_factory, "pier-swarm", DATABASE_URL=None,
                          PIER_RUNTIME_BACKEND="runtime.backends.swarm.Backend",
                          PIER_SWARM_MANAGER=swarm_cluster.docker_host(1),
                          PIER_REGISTRY=f"127.0.0.1:{registry}") as platform:
        yield platform
        manager = swarm_cluster.client(1)
        label = f"pier.platform={platform_label(platform.data_dir)}"
        for service in manager.services.list(filters={"label": label}):
            service.remove()
        for container in manager.containers.list(all=True, filters={"label": label}):
            container.remove(force=True)


def _placement(platform, app: str) -> dict[str, str]:
    """dyno -> node of the app's processes that are up."""
    return {d["name"]: d["node"] for d in platform.api.get(f"/apps/{app}/dynos").json()
            if d["state"] == "up"}


def test_git_push_runs_from_piers_registry_on_every_node(swarm_platform, swarm_cluster,
                                                          tmp_path):
    platform = swarm_platform
    address = platform.env["PIER_REGISTRY"]
    app, push = push_server(platform, tmp_path, text="spread", app="spread")
    assert push.returncode == 0, push.stdout + push.stderr
    assert f"Pushing image to {address}/spread" in push.stderr

    release = platform.api.get("/apps/spread/releases/v2").json()  # v1: the empty app
    image_ref = release["build"]["image_ref"]
    assert image_ref.startswith(f"{address}/spread@sha256:")
    scale(platform, app, web=3)
    placed = wait_for(lambda: (p := _placement(platform, app)).keys() >= {
        "web.1", "web.2", "web.3"} and p, timeout=120, what="web=3 up")
    assert set(placed.values()) == {swarm_cluster.hostname(i) for i in (1, 2, 3)}, placed

    # Each node pulled the release's very image from Pier's registry.
    for i in (1, 2, 3):
        digests = [d for image in swarm_cluster.client(i).images.list()
                   for d in image.attrs.get("RepoDigests") or []]
        assert image_ref in digests, (i, digests)
    # Every process answers through the router on this host.
    answers = wait_for(lambda: (seen := _answers(platform, app, 30)) >= {
        f"spread none web.{i}" for i in (1, 2, 3)} and seen, timeout=30,
        what="all three processes to answer")
    assert answers == {f"spread none web.{i}" for i in (1, 2, 3)}

    # One-offs run on the manager, from the same image.
    run = pier(platform, "run", "-a", app, "--", "printenv", "DYNO")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("run."), run.stdout


def _answers(platform, app: str, count: int) -> set[str]:
    return {platform.get(app).text for _ in range(count)}
