"""Pruning an app's images keeps the dependency layers its kept images are built on."""

import io
import json
import uuid

import pytest

from builds import images
from builds.engine import DEPENDENCY_LAYERS_LABEL, RUN_IMAGE

pytestmark = pytest.mark.docker


def test_prune_keeps_the_layers_of_kept_images_only(stack, docker_client):
    app_id = f"test-prune-{uuid.uuid4().hex[:8]}"
    layer = f"pier/{app_id}:deps-{uuid.uuid4().hex[:12]}"
    old_layer = f"pier/{app_id}:deps-{uuid.uuid4().hex[:12]}"
    app_image = f"pier/{app_id}:build1"
    try:
        repository = f"pier/{app_id}"
        docker_client.images.get(RUN_IMAGE).tag(repository, layer.rpartition(":")[2])
        docker_client.images.get(RUN_IMAGE).tag(repository, old_layer.rpartition(":")[2])
        dockerfile = (
            f"FROM {layer}\nLABEL {DEPENDENCY_LAYERS_LABEL}={json.dumps(json.dumps([layer]))}\n"
        )
        docker_client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=app_image)
        assert json.loads(docker_client.images.get(app_image).labels[DEPENDENCY_LAYERS_LABEL]) == [
            layer
        ]

        removed = images.prune(app_id=app_id, keep={app_image})
        assert removed == [old_layer]
        assert docker_client.images.get(layer)

        removed = images.prune(app_id=app_id, keep=set())
        assert set(removed) == {app_image, layer}
    finally:
        images.purge(app_id=app_id)
