"""Asking the `registry` process to collect garbage, which only it may start (see there)."""

import logging

import redis
from django.conf import settings

from pier.redis import get_redis

log = logging.getLogger(__name__)


def _key() -> str:
    # Per registry: Piers sharing one Redis (tests, CI) must not collect each other's
    # registries in the middle of a push.
    return f"pier:registry:collect:{settings.PIER_REGISTRY}"


def collection_request() -> None:
    """Ask for a collection: manifests were deleted, their blobs may go."""
    get_redis().set(_key(), "1")


def collection_wanted() -> bool:
    """Return whether a collection was asked for since the last call (and forget it)."""
    try:
        return bool(get_redis().getdel(_key()))
    except redis.RedisError as e:  # asked again at the next deletion; serving goes on
        log.warning("registry: cannot read collection requests: %s", e)
        return False
