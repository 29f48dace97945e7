"""The metrics collector: a thread beside the runtime's loop, never in a request's path.

It counts the router's access log entries as :class:`~runtime.logship.AccessLogTail`
reads them (:meth:`Collector.observe`), the reconciler's restarts and OOM kills
(:meth:`Collector.event`), and every ``interval`` seconds samples each running process's
cgroup and merges all of it into the store's 10 s buckets. Everything is keyed by app id.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import redis

from runtime.desired import ProcessStatus
from runtime.logship.access import service_ms
from runtime.metrics import buckets
from runtime.metrics.cgroups import CgroupReader
from runtime.metrics.store import FINEST, MetricsStore

logger = logging.getLogger(__name__)

# Buckets kept in memory while Redis is unreachable; older ones are dropped.
KEEP_UNWRITTEN_SECONDS = 3600


class Collector:
    def __init__(self, store: MetricsStore, processes: Callable[[], list[ProcessStatus]], *,
                 cgroups: CgroupReader | None = None, clock: Callable[[], float] = time.time,
                 interval: float = 10.0) -> None:
        self.store, self.processes = store, processes
        self.cgroups = cgroups or CgroupReader()
        self.clock, self.interval = clock, interval
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, int], dict] = {}
        self._last_request: dict[str, float] = {}
        self._cpu: dict[str, tuple[float, float]] = {}  # container -> (CPU seconds, at)

    def _bucket(self, app: str, at: float) -> dict:
        start = int(at) - int(at) % FINEST
        return self._pending.setdefault((app, start), buckets.new(start))

    def observe(self, entry: dict) -> None:
        """Count one router access log entry (called from the log tail's thread)."""
        app = entry.get("pier_app")
        if not app or app == "-":
            return
        ts = entry.get("ts")
        at = float(ts) if isinstance(ts, int | float) else self.clock()
        try:
            status, latency = int(entry.get("status") or 0), service_ms(entry)
        except (TypeError, ValueError):  # not a request the router logged
            return
        with self._lock:
            buckets.add_request(self._bucket(app, at), status, latency)
            self._last_request[app] = max(at, self._last_request.get(app, 0.0))

    def event(self, event) -> None:
        """Count the reconciler's restarts of crashed processes and OOM kills."""
        if event.kind == "restarted" or event.oom:
            with self._lock:
                bucket = self._bucket(event.app, self.clock())
                bucket["r" if event.kind == "restarted" else "o"] += 1

    def sample(self) -> None:
        """Read CPU and memory of every running process into the current bucket."""
        now = self.clock()
        running = [p for p in self.processes() if p.container_id]
        samples = []
        for p in running:
            sample = self.cgroups.read(p.container_id)
            if sample is None:
                continue
            before = self._cpu.get(p.container_id)
            self._cpu[p.container_id] = (sample.cpu_seconds, now)
            if before and now > before[1]:
                samples.append((p, sample, sample.cpu_seconds - before[0], now - before[1]))
        present = {p.container_id for p in running}
        self.cgroups.forget(present)
        for gone in set(self._cpu) - present:
            del self._cpu[gone]
        with self._lock:
            for p, sample, cpu, seconds in samples:
                buckets.add_process(self._bucket(p.app, now), p.name, cpu=max(0.0, cpu),
                                    seconds=seconds, memory=sample.memory, limit=sample.limit)

    def flush(self) -> None:
        """Write what was counted since the last flush; keep it for later if Redis is down."""
        with self._lock:
            pending, self._pending = self._pending, {}
            last, self._last_request = self._last_request, {}
        try:
            self.store.add((app, bucket) for (app, _), bucket in pending.items())
            self.store.touch(last)
        except redis.RedisError as e:
            logger.warning("metrics not written yet (%s); will retry", e)
            oldest = self.clock() - KEEP_UNWRITTEN_SECONDS
            with self._lock:
                for (app, start), bucket in pending.items():
                    if start >= oldest:
                        buckets.merge(self._bucket(app, start), bucket)
                for app, at in last.items():
                    self._last_request[app] = max(at, self._last_request.get(app, 0.0))

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self.interval):
            try:
                self.sample()
            except Exception:  # an engine hiccup must not end collection
                logger.exception("metrics sample failed")
            self.flush()
        self.flush()
