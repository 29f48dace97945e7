"""The platform's Redis connection, from REDIS_URL (a unix socket for the embedded default)."""

from functools import cache

import redis
from django.conf import settings


@cache
def get_redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)


def celery_broker_url(url: str) -> str:
    """Return url in kombu's spelling: redis-py says unix://, kombu says redis+socket://."""
    if url.startswith("unix://"):
        return "redis+socket://" + url.removeprefix("unix://")
    return url
