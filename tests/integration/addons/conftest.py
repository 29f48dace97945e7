"""Real add-on containers: the service images, a client image, apps whose one-offs join them.

Add-ons made here carry the platform label of this test session; whatever a test leaves
behind (containers, networks, volumes, iptables rules) is removed at the end.
"""

from __future__ import annotations

import io
import uuid

import pytest

docker = pytest.importorskip("docker")

from addons.container import engine  # noqa: E402
from addons.images import ensure_service_image  # noqa: E402
from api.desired import desired_app  # noqa: E402
from api.models import App, Build, Config  # noqa: E402
from api.services.releases import release_create  # noqa: E402
from builds.engine.stack import ensure_stack_images  # noqa: E402
from runtime.backends.docker import Backend  # noqa: E402
from runtime.isolation import unblock_host_access  # noqa: E402

CLIENT_IMAGE = "pier-test/addon-client:1"
# psql and redis-cli on a shell: what an app with both clients would run.
CLIENT_DOCKERFILE = b"""FROM pier/service-postgresql:latest
RUN apt-get update && apt-get install -y --no-install-recommends redis-tools \\
 && rm -rf /var/lib/apt/lists/*
ENTRYPOINT []
"""


@pytest.fixture(scope="session")
def addons_docker():
    try:
        client = docker.from_env()
        client.ping()
    except Exception as e:  # noqa: BLE001 - any failure means "no engine here"
        pytest.skip(f"Docker Engine not available: {e}")
    return client


@pytest.fixture(scope="session")
def service_images(addons_docker):
    ensure_stack_images(progress=lambda line: None)
    for service in ("postgresql", "redis"):
        ensure_service_image(service)
    try:
        addons_docker.images.get(CLIENT_IMAGE)
    except docker.errors.ImageNotFound:
        addons_docker.images.build(fileobj=io.BytesIO(CLIENT_DOCKERFILE), tag=CLIENT_IMAGE,
                                   rm=True, pull=False)
    return CLIENT_IMAGE


@pytest.fixture
def platform_label(settings, tmp_path, addons_docker, service_images):
    """A platform id of this test's own; everything labelled with it is removed afterwards."""
    label = f"addt{uuid.uuid4().hex[:8]}"
    settings.PIER_PLATFORM_ID = label
    settings.PIER_DATA_DIR = tmp_path
    yield label
    for container in addons_docker.containers.list(
            all=True, filters={"label": f"pier.platform={label}"}):
        container.remove(force=True)
    for network in addons_docker.networks.list(filters={"label": f"pier.platform={label}"}):
        network.reload()
        unblock_host_access(network.attrs["Options"]["com.docker.network.bridge.name"])
        for container in network.containers:
            network.disconnect(container, force=True)
        network.remove()
    for volume in addons_docker.volumes.list(filters={"label": f"pier.platform={label}"}):
        volume.remove(force=True)


@pytest.fixture
def addons_engine(platform_label):
    return engine()


@pytest.fixture
def make_app(user, service_images, platform_label):
    """Create an app deployed with the client image (it has psql and redis-cli)."""

    def make(name: str) -> App:
        app = App.objects.create(name=name, owner=user)
        build = Build.objects.create(app=app, status=Build.Status.SUCCEEDED,
                                     process_types={"web": "sleep 3600"}, image=service_images)
        release_create(app=app, build=build, config=Config.objects.create(app=app, values={}),
                       description="Deploy", user=user)
        return app

    return make


@pytest.fixture
def run_in(platform_label):
    """Run a shell command in a one-off of the app, as `pier run` does; return (code, output)."""
    backend = Backend(labels={"pier.platform": platform_label},
                      name_prefix=f"{platform_label}-")
    backend.ensure_network()

    def run(app: App, command: str, timeout: float = 60) -> tuple[int, str]:
        app.refresh_from_db()
        output = bytearray()
        code = backend.run_oneoff(desired_app(app=app), command, output=output.extend,
                                  timeout=timeout)
        return code, output.decode(errors="replace")

    return run
