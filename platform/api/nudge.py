"""Wake the runtime as soon as a change that alters what should run is committed."""

import logging

import redis
from django.conf import settings
from django.db import transaction

from runtime.loop import nudge

log = logging.getLogger(__name__)


def _send() -> None:
    try:
        nudge(settings.REDIS_URL)
    except redis.RedisError as e:
        # The runtime's periodic pass picks the change up anyway, a few seconds later.
        log.warning("could not nudge the runtime: %s", e)


def runtime_nudge_on_commit() -> None:
    transaction.on_commit(_send)
