"""The runtime's supervising loop: read the desired state, reconcile, wait, repeat.

It waits ``interval`` seconds between passes, 0.25 s while a deploy or restart is under way
(a new process's health is checked once a pass: this is how soon it is seen to be up),
and wakes at once when something is published on the Redis channel
``pier:runtime:nudge`` (the control plane calls :func:`nudge` after a release or a
scale). Errors end a pass, never the loop: an unreachable Docker daemon or router is
logged and retried. The one exception is :class:`IsolationError`: apps that could reach
the host must not run at all, and retrying cannot fix the host, so it ends the loop.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from runtime.desired import DesiredApp, desired_from_json
from runtime.errors import BackendUnavailable, Invalid, IsolationError, PierRuntimeError
from runtime.reconciler import Event, Reconciler, ReconcileResult

logger = logging.getLogger(__name__)

NUDGE_CHANNEL = "pier:runtime:nudge"
Source = Callable[[], list[DesiredApp]]


def file_source(path: str | os.PathLike) -> Source:
    """Return a source reading desired state from a JSON file on every pass.

    A missing or broken file raises Invalid, so the pass is skipped instead of taken to
    mean "no apps" (which would stop every app).
    """
    path = Path(path)

    def read() -> list[DesiredApp]:
        try:
            text = path.read_text()
        except OSError as e:
            raise Invalid(f"cannot read desired state from {path}: {e}") from e
        return desired_from_json(text)

    return read


def as_source(source: Source | str | os.PathLike) -> Source:
    return source if callable(source) else file_source(source)


def redis_event_sink(redis_url: str) -> Callable[[Event], None]:
    """Return an ``events`` callable that appends each event to the app's log stream.

    Lines get source ``pier`` and the process (``web.1``) as dyno, as in Heroku's
    ``heroku[web.1]: State changed from starting to up``.
    """
    import redis

    from runtime import applog

    client = redis.Redis.from_url(redis_url)

    def sink(event: Event) -> None:
        try:
            applog.append(client, event.app, source="pier", dyno=event.process or "pier",
                          message=event.message)
        except redis.RedisError as e:
            logger.warning("event not logged (%s): %s", e, event.message)

    return sink


def nudge(redis_url: str) -> None:
    """Wake a waiting runtime now (call after committing a release or formation change)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        client.publish(NUDGE_CHANNEL, "reconcile")
    finally:
        client.close()


class Waiter:
    """Sleep until a timeout, a stop request, or a nudge on Redis (when a URL is given)."""

    def __init__(self, stop: threading.Event, redis_url: str | None = None) -> None:
        self.stop = stop
        self.redis_url = redis_url
        self._pubsub = None

    def wait(self, seconds: float) -> bool:
        """Wait; return True when nudged."""
        if not self.redis_url:
            self.stop.wait(seconds)
            return False
        import redis

        try:
            if self._pubsub is None:
                client = redis.Redis.from_url(self.redis_url, socket_timeout=seconds + 5)
                self._pubsub = client.pubsub(ignore_subscribe_messages=True)
                self._pubsub.subscribe(NUDGE_CHANNEL)
            return self._listen(seconds)
        except redis.RedisError as e:
            logger.warning("no nudges from Redis (%s); polling every %gs", e, seconds)
            self.close()
            self.stop.wait(seconds)
            return False

    def _listen(self, seconds: float) -> bool:
        remaining = seconds
        while remaining > 0 and not self.stop.is_set():
            step = min(remaining, 1.0)  # notice a stop request within a second
            if self._pubsub.get_message(timeout=step):
                while self._pubsub.get_message(timeout=0):  # a burst counts once
                    pass
                return True
            remaining -= step
        return False

    def close(self) -> None:
        if self._pubsub is not None:
            try:
                self._pubsub.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass
            self._pubsub = None


def run_once(source: Source, reconciler: Reconciler) -> ReconcileResult | None:
    """Run one pass; log and swallow errors (this is the loop's one catch-all).

    IsolationError is raised: the runtime must stop rather than run apps unconfined.
    """
    try:
        result = reconciler.reconcile(source())
    except IsolationError:
        raise
    except BackendUnavailable as e:
        logger.warning("engine unavailable, will retry: %s", e)
        reconciler.backend_lost()
        return None
    except PierRuntimeError as e:
        logger.error("pass skipped: %s", e)
        return None
    except Exception:
        logger.exception("pass failed")
        return None
    for error in result.errors:
        logger.warning("%s", error)
    return result


def run_forever(
    source: Source | str | os.PathLike,
    reconciler: Reconciler,
    *,
    interval: float = 5.0,
    busy_interval: float = 0.25,
    retry_interval: float = 5.0,
    redis_url: str | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Reconcile until ``stop`` is set; apps keep running after it returns."""
    source = as_source(source)
    stop = stop or threading.Event()
    waiter = Waiter(stop, redis_url)
    try:
        while not stop.is_set():
            result = run_once(source, reconciler)
            if result is None:
                delay = retry_interval
            else:
                delay = busy_interval if result.pending else interval
            if not stop.is_set():
                waiter.wait(delay)
    finally:
        waiter.close()
