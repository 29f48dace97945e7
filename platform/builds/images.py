"""App images: built by the buildpack engine, pruned so the disk does not fill up."""

import logging

import docker
from docker.errors import APIError, ImageNotFound

from builds.engine import BuildFailed, BuildLimits, build_image

__all__ = ["BuildFailed", "BuildLimits", "build_image", "prune"]
log = logging.getLogger(__name__)


def prune(*, app: str, keep: set[str]) -> list[str]:
    """Remove the app's images that no recent release uses; return the removed tags."""
    client = docker.from_env()
    removed = []
    for image in client.images.list(name=f"pier/{app}"):
        for tag in image.tags:
            if tag in keep or not tag.startswith(f"pier/{app}:"):
                continue
            try:
                client.images.remove(tag)
                removed.append(tag)
            except (ImageNotFound, APIError) as e:  # still used by a container, or gone
                log.info("kept image %s: %s", tag, e)
    return removed
