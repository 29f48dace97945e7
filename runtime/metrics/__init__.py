"""App metrics: collected beside the runtime, stored in Redis, read by the control plane.

- :mod:`~runtime.metrics.buckets`: one time bucket (requests, status classes, a latency
  histogram, per-process CPU and memory, restarts and OOMs), merging and percentiles.
- :mod:`~runtime.metrics.store`: fixed-size rings of buckets in Redis at three
  resolutions (1 h at 10 s, 24 h at 1 min, 7 d at 10 min).
- :mod:`~runtime.metrics.cgroups`: CPU and memory of a container read from its cgroup
  files (v1 and v2), not from Docker's stats API (1-2 s a call).
- :mod:`~runtime.metrics.collector`: the thread that counts router access log entries
  and reconciler events, samples cgroups every 10 s and writes the buckets.
"""

from runtime.metrics.buckets import LATENCY_EDGES_MS, percentile
from runtime.metrics.collector import Collector
from runtime.metrics.store import LAST_REQUEST_KEY, RESOLUTIONS, MetricsStore

__all__ = ["LAST_REQUEST_KEY", "LATENCY_EDGES_MS", "RESOLUTIONS", "Collector", "MetricsStore",
           "percentile"]
