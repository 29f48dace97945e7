"""The registry process collects garbage when asked, and serves pushes again afterwards."""

import pytest
from registry_helpers import DockerUser

from registry.collection import collection_request
from registry.images import manifest_delete
from tests.helpers import wait_for


def blobs(setup) -> set[str]:
    root = setup.storage / "docker" / "registry" / "v2" / "blobs" / "sha256"
    return {p.name for p in root.glob("*/*")} if root.exists() else set()


@pytest.mark.django_db(transaction=True)
def test_deleted_images_layers_are_collected_then_pushes_work_again(
        pier_registry, user, tmp_path, docker_client):
    from api.services.apps import app_create
    from tests.integration.runtime.rt_helpers import busybox_image

    setup = pier_registry.setup
    app_create(user=user, name="collected")
    docker = DockerUser(setup.address, user.plaintext_token, tmp_path)
    image = busybox_image(docker_client)
    assert docker.push(image, "collected:1").returncode == 0
    stored = blobs(setup)
    assert stored  # the layer, the config and the manifest
    digest = docker_client.images.get(f"{setup.address}/collected:1").attrs["RepoDigests"][0]
    manifest_delete(setup, reference=digest)
    collection_request()
    wait_for(lambda: not blobs(setup), 60, "the registry to collect the deleted image")
    pushed = wait_for(lambda: docker.push(image, "collected:2").returncode == 0, 60,
                      "pushes to be taken again")
    assert pushed and blobs(setup)
