"""Real Docker, a real router: a tiny busybox image, the router on a free port, labelled cleanup."""

from __future__ import annotations

import uuid

import pytest

docker = pytest.importorskip("docker")

from rt_helpers import Upstream, busybox_image  # noqa: E402

from runtime.backends.docker import Backend  # noqa: E402
from runtime.reconciler import Reconciler  # noqa: E402
from runtime.router import DEFAULT_ROUTER, load_router  # noqa: E402
from tests.helpers import free_port  # noqa: E402


@pytest.fixture(scope="session")
def test_image(docker_client):
    """Import a one-binary busybox image once; idempotent across sessions."""
    return busybox_image(docker_client)



@pytest.fixture
def upstreams():
    """Three HTTP servers answering with their own port (:class:`rt_helpers.Upstream`)."""
    started = [Upstream() for _ in range(3)]
    yield started
    for upstream in started:
        upstream.stop()


@pytest.fixture(scope="session")
def live_router(tmp_path_factory):
    """The default router, really running on a free loopback port.

    Yields (state directory, HTTP port, access log path).
    """
    tmp = tmp_path_factory.mktemp("router")
    port = free_port()
    access_log = str(tmp / "access.log")
    router = load_router(DEFAULT_ROUTER, state_dir=tmp / "state", listen=f"127.0.0.1:{port}",
                         access_log=access_log)
    log = open(tmp / "router.log", "wb")  # closed at teardown
    process = router.start(stderr=log)
    yield tmp / "state", port, access_log
    process.terminate()
    process.wait(10)
    log.close()


@pytest.fixture(scope="session")
def session_label():
    return uuid.uuid4().hex[:8]


@pytest.fixture
def backend(docker_client, test_image, session_label):
    backend = Backend(
        client=docker_client,
        labels={"pier.test": session_label},
        name_prefix=f"pier-test-{session_label}-",
    )
    yield backend
    remove_labelled(docker_client, session_label)


def remove_labelled(client, label: str) -> None:
    for container in client.containers.list(all=True, filters={"label": f"pier.test={label}"}):
        container.remove(force=True)


@pytest.fixture(scope="session", autouse=True)
def _cleanup_session(session_label):
    yield
    try:
        remove_labelled(docker.from_env(), session_label)
    except Exception:  # nothing to clean without an engine
        pass


@pytest.fixture
def swarm_backend(swarm_cluster, swarm_image, session_label):
    """The Swarm backend on the cluster's manager; its services removed afterwards."""
    from runtime.backends.swarm import Backend as SwarmBackend

    client = swarm_cluster.client(1)
    # The manager runs in its own network namespace, out of runtime.isolation's reach:
    # the nodes' own rules are tested in tests/security/test_swarm_isolation.py.
    backend = SwarmBackend(client=client, labels={"pier.test": session_label},
                           name_prefix=f"pt-{session_label}-", isolate_host=False)
    yield backend
    for service in client.services.list(filters={"label": f"pier.test={session_label}"}):
        service.remove()
    remove_labelled(client, session_label)


@pytest.fixture
def router(live_router):
    state_dir, port, access_log = live_router
    return load_router(DEFAULT_ROUTER, state_dir=state_dir, listen=f"127.0.0.1:{port}",
                       access_log=access_log)


@pytest.fixture
def events():
    return []


@pytest.fixture
def reconciler(backend, router, events):
    return Reconciler(backend, router, events=events.append, domain="localhost")
