"""Platform events (`pier[...]` lines) in an app's log stream: releases, scaling, config."""

import logging

import redis
from django.conf import settings

from pier.redis import get_redis
from runtime import applog

log = logging.getLogger(__name__)


def event_log(*, app: str, message: str, dyno: str = "api") -> None:
    """Append a platform event to app's log; a Redis outage must not fail the user's change."""
    try:
        applog.append(
            get_redis(),
            app,
            source="pier",
            dyno=dyno,
            message=message,
            maxlen=settings.PIER_LOG_BUFFER,
        )
    except redis.RedisError as e:
        log.warning("could not log event for %s: %s", app, e)
