"""Buckets in Redis: one hash per app and resolution, a fixed number of slots each.

Why Redis rings and not PostgreSQL rollups: the collector writes every app's buckets
every 10 s, which in Redis is two round trips for all apps and no table growth, and the
rings never need trimming (a slot is overwritten when its time comes around again, so the
memory of an app's metrics is fixed: 360 + 1440 + 1008 slots). A slot is only believed
when its stored start ``t`` is the one asked for, so a stale slot from a previous lap is
never read as current. Losing Redis loses history, which metrics can afford.

Keys are ``pier:metrics:<app id>:<seconds per bucket>``; the field is the slot number.
``pier:metrics:last-request`` maps app id to the epoch second of its last routed request.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from runtime.metrics import buckets

# (seconds per bucket, slots): 1 h at 10 s, 24 h at 1 min, 7 days at 10 min.
RESOLUTIONS = ((10, 360), (60, 1440), (600, 1008))
FINEST = RESOLUTIONS[0][0]
LAST_REQUEST_KEY = "pier:metrics:last-request"


def key(app: str, resolution: int) -> str:
    return f"pier:metrics:{app}:{resolution}"


def resolution_for(seconds: float, step: int | None = None) -> int:
    """Return the ring to read for the last ``seconds`` at ``step`` seconds a point.

    The coarsest ring that covers the span and is no coarser than the step (fewer slots
    to read and merge); the finest covering ring when the step is finer than all of them.
    """
    covering = [r for r, slots in RESOLUTIONS if seconds <= r * slots] or [RESOLUTIONS[-1][0]]
    fitting = [r for r in covering if r <= (step or covering[0])]
    return max(fitting) if fitting else covering[0]


class MetricsStore:
    def __init__(self, client) -> None:
        self.client = client

    def add(self, partials: Iterable[tuple[str, dict]]) -> None:
        """Merge 10 s buckets ``(app, bucket)`` into every resolution's ring.

        Read, merge, write: the collector is the one writer, so no lock is needed.
        """
        targets: dict[tuple[str, int, int], dict] = {}
        for app, partial in partials:
            for resolution, _ in RESOLUTIONS:
                start = partial["t"] - partial["t"] % resolution
                bucket = targets.setdefault((app, resolution, start), buckets.new(start))
                buckets.merge(bucket, partial)
        if not targets:
            return
        order = list(targets)
        with self.client.pipeline(transaction=False) as pipe:
            for app, resolution, start in order:
                pipe.hget(key(app, resolution), self.slot(resolution, start))
            stored = pipe.execute()
        with self.client.pipeline(transaction=False) as pipe:
            for (app, resolution, start), raw in zip(order, stored, strict=True):
                bucket = targets[(app, resolution, start)]
                old = json.loads(raw) if raw else None
                if old and old["t"] == start:
                    bucket = buckets.merge(old, bucket)
                pipe.hset(key(app, resolution), self.slot(resolution, start),
                          json.dumps(bucket, separators=(",", ":")))
            pipe.execute()

    def touch(self, last_requests: dict[str, float]) -> None:
        """Record each app's latest request time (kept when an older one arrives late)."""
        if not last_requests:
            return
        current = self.client.hmget(LAST_REQUEST_KEY, list(last_requests))
        newer = {app: ts for (app, ts), old in zip(last_requests.items(), current, strict=True)
                 if old is None or float(old) < ts}
        if newer:
            self.client.hset(LAST_REQUEST_KEY, mapping=newer)

    def last_request(self, app: str) -> float | None:
        """Return the epoch second of the app's last routed request, or None."""
        value = self.client.hget(LAST_REQUEST_KEY, app)
        return float(value) if value is not None else None

    def read(self, app: str, *, start: float, end: float, step: int | None = None,
             ) -> tuple[int, list[dict]]:
        """Return ``(step, buckets)`` from ``start`` to ``end`` (epoch seconds), oldest first.

        Only the slots of that span are fetched (:func:`resolution_for` picks the ring);
        ``step`` (rounded up to a multiple of the ring's resolution) merges neighbouring
        buckets. Empty times are left out.
        """
        resolution = resolution_for(end - start, step)
        step = max(resolution, -(-int(step or resolution) // resolution) * resolution)
        starts = range(int(start) - int(start) % resolution, int(end) + 1, resolution)
        slots = [self.slot(resolution, t) for t in starts]
        merged: dict[int, dict] = {}
        for t, raw in zip(starts, self.client.hmget(key(app, resolution), slots), strict=True):
            bucket = json.loads(raw) if raw else None
            if bucket is None or bucket["t"] != t:  # empty, or left from a previous lap
                continue
            at = t - t % step
            if at in merged:
                buckets.merge(merged[at], bucket)
            else:
                merged[at] = {**bucket, "t": at}
        return step, [merged[t] for t in sorted(merged)]

    def forget(self, app: str) -> None:
        """Drop an app's metrics (when it is destroyed)."""
        self.client.delete(*(key(app, resolution) for resolution, _ in RESOLUTIONS))
        self.client.hdel(LAST_REQUEST_KEY, app)

    @staticmethod
    def slot(resolution: int, start: int) -> int:
        slots = dict(RESOLUTIONS)[resolution]
        return (start // resolution) % slots
