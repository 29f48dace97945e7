"""App images: built by the buildpack engine, pruned so the disk does not fill up.

Images and the build cache volume are keyed by the app's id (``pier/<id>:<build>``,
``pier-cache-<id>``), never its name: a rename keeps them, and whoever creates an app
with a destroyed app's name gets none of its images or cache (a cached binary planted in
a name's cache would otherwise run in the next owner's builds).
"""

import contextlib
import json
import logging

import docker
from docker.errors import APIError, ImageNotFound, NotFound

from builds.engine import (
    DEPENDENCY_LAYERS_LABEL,
    BuildFailed,
    BuildLimits,
    build_image,
    default_cache_volume,
)

__all__ = [
    "BuildFailed", "BuildLimits", "build_image", "cache_volume", "copy", "image_tag", "prune",
    "purge",
]
log = logging.getLogger(__name__)


def _repository(app_id) -> str:
    return f"pier/{app_id}"


def image_tag(*, app_id, build_id) -> str:
    return f"{_repository(app_id)}:{str(build_id)[:8]}"


def copy(*, image: str, app_id, build_id) -> str:
    """Tag image under app_id's repository (a promotion); return the new tag.

    The layers are shared, the tags are not: pruning one app never removes an image that
    another app's release runs.
    """
    tag = image_tag(app_id=app_id, build_id=build_id)
    repository, _, name = tag.rpartition(":")
    docker.from_env().images.get(image).tag(repository, name)
    return tag


def cache_volume(*, app_id) -> str:
    return default_cache_volume(str(app_id))


def prune(*, app_id, keep: set[str]) -> list[str]:
    """Remove the app's images that no recent release uses; return the removed tags.

    The dependency layer images a kept image is built on are kept too: the next build
    whose dependencies did not change reuses them.
    """
    client = docker.from_env()
    removed = []
    repository = _repository(app_id)
    images = client.images.list(name=repository)
    keep = keep | {
        layer
        for image in images
        if keep & set(image.tags)
        for layer in json.loads(image.labels.get(DEPENDENCY_LAYERS_LABEL) or "[]")
    }
    for image in images:
        for tag in image.tags:
            if tag in keep or not tag.startswith(f"{repository}:"):
                continue
            try:
                client.images.remove(tag)
                removed.append(tag)
            except (ImageNotFound, APIError) as e:  # still used by a container, or gone
                log.info("kept image %s: %s", tag, e)
    return removed


def purge(*, app_id) -> None:
    """Remove every image and the build cache of a destroyed app; safe to repeat.

    Raises docker's APIError while something still uses them (a process being stopped):
    the caller retries later.
    """
    client = docker.from_env()
    for image in client.images.list(name=_repository(app_id)):
        for tag in image.tags:
            if tag.startswith(f"{_repository(app_id)}:"):
                with contextlib.suppress(ImageNotFound):
                    client.images.remove(tag)
    with contextlib.suppress(NotFound):
        client.volumes.get(cache_volume(app_id=app_id)).remove()
