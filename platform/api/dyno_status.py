"""What the runtime last saw of each process, kept in Redis for `ps` and the dashboard."""

import json
import logging

import redis

from pier.redis import get_redis

log = logging.getLogger(__name__)
# Statuses older than this are from a runtime that stopped: show nothing rather than lies.
STATUS_TTL_SECONDS = 60


def _key(app: str) -> str:
    """Return the key of app id ``app``'s statuses (by id: they follow a rename)."""
    return f"pier:ps:{app}"


def statuses_write(*, app: str, statuses: dict[str, dict]) -> None:
    client = get_redis()
    pipe = client.pipeline()
    pipe.delete(_key(app))
    if statuses:
        pipe.hset(_key(app), mapping={k: json.dumps(v) for k, v in statuses.items()})
        pipe.expire(_key(app), STATUS_TTL_SECONDS)
    pipe.execute()


def statuses_read(*, app: str) -> dict[str, dict]:
    try:
        raw = get_redis().hgetall(_key(app))
    except redis.RedisError as e:
        log.warning("process statuses unavailable: %s", e)
        return {}
    return {name: json.loads(value) for name, value in raw.items()}
