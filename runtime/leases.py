"""Leases: who still needs a one-off container, told through Redis keys that expire.

The process that starts a one-off (`pier run` in a web process, a release phase in a
worker) holds a lease named after the container: a key it renews every ``ttl / 3``
seconds until the one-off ends. If that process dies (crash, OOM kill, redeploy), the key
expires ``ttl`` seconds later and the runtime's reaper removes the container.

Why a heartbeat and not the owner's process id: the web, worker and runtime processes may
run in different containers (docker-compose), each in its own PID namespace, so no one of
them can tell whether another's pid is alive; all of them reach Redis. A Redis outage
longer than ``ttl`` makes leases look lapsed: the reaper then removes one-offs that were
still wanted, which is the safe side (an interrupted `pier run`, never an unowned process).
"""

from __future__ import annotations

import contextlib
import logging
import threading

import redis

logger = logging.getLogger(__name__)

TTL_SECONDS = 30.0


def lease_key(name: str) -> str:
    return f"pier:lease:{name}"


class Lease:
    """One held lease; renewed by a daemon thread until :meth:`release`."""

    def __init__(self, client: redis.Redis, name: str, ttl: float) -> None:
        self.client, self.key, self.ttl = client, lease_key(name), ttl
        self._stop = threading.Event()
        self._renew()  # raises if Redis is down: better no one-off than an unowned one
        threading.Thread(target=self._keep, daemon=True, name=f"lease-{name}").start()

    def _renew(self) -> None:
        self.client.set(self.key, "1", px=int(self.ttl * 1000))

    def _keep(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            try:
                self._renew()
            except redis.RedisError as e:  # a blip shorter than the ttl costs nothing
                logger.warning("lease %s not renewed: %s", self.key, e)

    def release(self) -> None:
        self._stop.set()
        with contextlib.suppress(redis.RedisError):
            self.client.delete(self.key)

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


class Leases:
    def __init__(self, client: redis.Redis, ttl: float = TTL_SECONDS) -> None:
        self.client, self.ttl = client, ttl

    def hold(self, name: str) -> Lease:
        return Lease(self.client, name, self.ttl)

    def held(self, names: list[str]) -> set[str]:
        """Return which of ``names`` have a lease alive now."""
        pipe = self.client.pipeline(transaction=False)
        for name in names:
            pipe.exists(lease_key(name))
        return {name for name, alive in zip(names, pipe.execute(), strict=True) if alive}
