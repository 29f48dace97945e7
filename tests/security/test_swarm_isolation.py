"""On a Swarm, an app's processes reach neither another app's processes, on any node, nor
the cluster's own services (the registry, the nodes' daemons); only the router reaches
them. The nodes run scripts/swarm-node-firewall.sh, as the README says every node must.
"""

from __future__ import annotations

import threading
import time
import uuid
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from runtime.backends.swarm import Backend
from runtime.desired import DesiredApp, ProcessSpec

pytestmark = pytest.mark.swarm

SERVE = ('mkdir -p /tmp/www && echo secret > /tmp/www/index.html && '
         'exec httpd -f -p $PORT -h /tmp/www')


def probe(targets: list[str]) -> str:
    """A process that tries to connect to every target, says what happened, then sleeps."""
    tries = "; ".join(
        f'if nc -w 2 {t.replace(":", " ")} < /dev/null; then echo "reached {t}"; '
        f'else echo "blocked {t}"; fi' for t in targets)
    return f"{tries}; echo probed; exec sleep 600"


def app(name: str, image: str, command: str, web: int = 1) -> DesiredApp:
    return DesiredApp(name=name, release=1, image=image, stop_grace=1.0,
                      formation=(ProcessSpec("web", web, command, memory_mb=64),))


def output(cluster, process) -> str:
    """What the process printed, read from its node's own engine: the manager's log broker
    can still call a node "not available" a while after it came back from a partition
    (the cluster tests before this one), and what is tested here is the network."""
    [node] = [i for i in range(1, cluster.size + 1) if cluster.hostname(i) == process.node]
    label = f"com.docker.swarm.service.id={process.container_id}"
    containers = cluster.client(node).containers.list(all=True, filters={"label": label})
    return "".join(c.logs().decode(errors="replace") for c in containers)


@pytest.fixture
def backend(swarm_cluster, swarm_image):
    label = uuid.uuid4().hex[:8]
    backend = Backend(client=swarm_cluster.client(1), labels={"pier.test": label},
                      name_prefix=f"ps-{label}-", isolate_host=False)
    yield backend
    for status in backend.list_processes():
        backend.remove(status)


@pytest.fixture
def control_plane_service(swarm_cluster):
    """An HTTP server on the control plane's (this host's) address in the cluster network,
    standing for its PostgreSQL, Redis, API..."""
    server = ThreadingHTTPServer((f"{swarm_cluster.net}.1", 0), SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"{swarm_cluster.net}.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_apps_reach_no_other_app_on_any_node_nor_the_cluster_s_services(
        backend, swarm_cluster, swarm_image, control_plane_service):
    victim = app("sec-victim", swarm_image, SERVE, web=3)
    victims = [backend.start_process(victim, victim.spec("web"), i) for i in (1, 2, 3)]
    assert len({v.node for v in victims}) == 3  # one on every node
    for v in victims:  # the router (this host) reaches each of them
        assert httpx.get(f"http://{v.address}/", timeout=5).text == "secret\n"
    assert httpx.get(f"http://{control_plane_service}/", timeout=5).status_code == 200
    targets = [v.address for v in victims] + [
        swarm_cluster.registry, f"{swarm_cluster.address(1)}:2377", control_plane_service]
    attacker = app("sec-attacker", swarm_image, probe(targets), web=3)
    attackers = [backend.start_process(attacker, attacker.spec("web"), i) for i in (1, 2, 3)]
    assert len({a.node for a in attackers}) == 3
    for a in attackers:
        deadline = time.monotonic() + 60
        while "probed" not in (seen := output(swarm_cluster, a)):
            assert time.monotonic() < deadline, f"{a.name} on {a.node} said only: {seen!r}"
            time.sleep(0.5)
        assert "reached" not in seen, f"{a.name} on {a.node}: {seen}"
        assert seen.count("blocked") == len(targets)
