"""`docker push` deploys on the whole platform (`manage.py up` with PIER_REGISTRY): an image
built outside Pier is pushed to Pier's registry with an API token, `pier container:release`
releases it, and it serves through the router after its health check."""

import io
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import platform_running
from tests.e2e.helpers import pier
from tests.helpers import free_port

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration" / "registry"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration" / "runtime"))
from registry_helpers import DockerUser  # noqa: E402
from rt_helpers import busybox_image  # noqa: E402

IMAGE = "pier-registry-e2e/served:1"
DOCKERFILE = b"""FROM %s
CMD ["sh", "-c", "mkdir -p /tmp/www && echo pushed image ok > /tmp/www/index.html \
&& exec httpd -f -p $PORT -h /tmp/www"]
"""


@pytest.fixture(scope="module")
def registry_platform(tmp_path_factory):
    with platform_running(tmp_path_factory, "pier-registry", DATABASE_URL=None,
                          PIER_REGISTRY=f"127.0.0.1:{free_port()}") as platform:
        yield platform


@pytest.fixture(scope="module")
def outside_image(docker_client):
    """An image built outside Pier whose CMD serves HTTP on $PORT."""
    base = busybox_image(docker_client)
    docker_client.images.build(fileobj=io.BytesIO(DOCKERFILE % base.encode()), tag=IMAGE,
                               rm=True)
    yield IMAGE
    docker_client.images.remove(IMAGE, force=True)


def test_docker_push_then_container_release_serves_through_the_router(
        registry_platform, outside_image, tmp_path):
    platform = registry_platform
    address = platform.env["PIER_REGISTRY"]
    platform.create_app("pushed")
    docker = DockerUser(address, platform.token, tmp_path)
    assert docker.login.returncode == 0, docker.login.stderr
    pushed = docker.push(outside_image, "pushed:1.2")
    assert pushed.returncode == 0, pushed.stderr

    done = pier(platform, "container:release", "web", "-a", "pushed", "--image", "pushed:1.2")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Released v2 of pushed" in done.stdout  # v1: the app's initial release
    answer = platform.get("pushed")  # released means healthy and routed
    assert answer.status_code == 200 and answer.text == "pushed image ok\n"
    release = platform.api.get("/apps/pushed/releases/v2").json()
    assert release["build"]["image_ref"].startswith(f"{address}/pushed@sha256:")


def test_container_release_refuses_images_it_cannot_release(registry_platform):
    platform = registry_platform
    platform.create_app("refusing")
    missing = pier(platform, "container:release", "web", "-a", "refusing",
                   "--image", "refusing:9.9")
    assert missing.returncode != 0
    assert "not in Pier's registry: push it first" in missing.stderr, missing.stderr
    other = pier(platform, "container:release", "web", "-a", "refusing",
                 "--image", "pushed:1.2")
    assert other.returncode != 0
    assert "is not refusing's" in other.stderr, other.stderr
