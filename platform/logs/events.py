"""Platform events (`pier[...]` lines) in an app's log stream: releases, scaling, config."""

import logging

import redis
from django.conf import settings

from pier.redis import get_redis
from runtime import applog

log = logging.getLogger(__name__)


def event_log(*, app_id, message: str, dyno: str = "api") -> None:
    """Append a platform event to an app's log; a Redis outage must not fail the user's change."""
    try:
        applog.append(
            get_redis(),
            str(app_id),
            source="pier",
            dyno=dyno,
            message=message,
            maxlen=settings.PIER_LOG_BUFFER,
        )
    except redis.RedisError as e:
        log.warning("could not log event for app %s: %s", app_id, e)
