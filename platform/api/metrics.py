"""Reading an app's metrics for the API, the CLI and the dashboard (a selector).

The runtime's collector writes the buckets (:mod:`runtime.metrics`); this turns the ones
asked for into points with rates, percentiles and per-process CPU and memory, plus the
releases made meanwhile (the charts' markers).
"""

import time
from datetime import UTC, datetime

from api.errors import Invalid
from api.models import App
from pier.redis import get_redis
from runtime import durations
from runtime.metrics import MetricsStore
from runtime.metrics.buckets import merge, new, percentiles
from runtime.metrics.store import RESOLUTIONS

LONGEST = RESOLUTIONS[-1][0] * RESOLUTIONS[-1][1]  # 7 days
MB = 1024 * 1024
# Points returned when no step is asked for: enough for a chart, and few enough that a day
# is read from the 10 min ring (144 slots) rather than the 1 min one (1,440).
MAX_POINTS = 144
QUANTILES = (50, 95, 99)


def parse_duration(value: str, name: str) -> int:
    """Return seconds from ``90``, ``90s``, ``30m``, ``24h`` or ``7d``."""
    parsed = durations.seconds(value)
    if parsed is None:
        raise Invalid(f"{name} must be a duration like 30m, 24h or 7d (or seconds); got {value!r}")
    return parsed


def _processes(bucket: dict) -> dict:
    out = {}
    for dyno, p in sorted(bucket["p"].items()):
        limit = p["lim"]
        out[dyno] = {
            "cpu_percent": round(100 * p["cpu"] / p["sec"], 1) if p["sec"] else None,
            "memory_mb": round(p["mem"] / MB, 1),
            "memory_limit_mb": round(limit / MB) if limit else None,
            "memory_percent": round(100 * p["mem"] / limit, 1) if limit else None,
        }
    return out


def _point(bucket: dict, seconds: int) -> dict:
    statuses = {f"{k}xx": bucket["s"].get(k, 0) for k in "2345"}
    values = percentiles(bucket["h"], tuple(q / 100 for q in QUANTILES))
    quantiles = {f"p{q}": value for q, value in zip(QUANTILES, values, strict=True)}
    return {
        "time": datetime.fromtimestamp(bucket["t"], UTC).isoformat(),
        "requests": bucket["n"],
        "rps": round(bucket["n"] / seconds, 3),
        "status": statuses,
        **{k: round(v, 1) if v is not None else None for k, v in quantiles.items()},
        "mean_ms": round(bucket["ms"] / bucket["n"], 1) if bucket["n"] else None,
        "restarts": bucket["r"],
        "oom_kills": bucket["o"],
        "processes": _processes(bucket),
    }


def metrics_read(*, app: App, since: str = "1h", step: str | None = None,
                 now: float | None = None) -> dict:
    """Return the app's points over the last ``since``, ``step`` apart, and a summary.

    Without a step, points are as fine as the ring allows up to MAX_POINTS of them.
    """
    seconds = parse_duration(since, "since")
    if seconds > LONGEST:
        raise Invalid(f"since can reach back at most 7d (metrics are kept 7 days); got {since!r}")
    wanted = parse_duration(step, "step") if step else -(-seconds // MAX_POINTS)
    end = now or time.time()
    start = end - seconds
    step_seconds, rows = MetricsStore(get_redis()).read(str(app.id), start=start, end=end,
                                                        step=wanted)
    total = new(int(start))
    for row in rows:
        merge(total, dict(row, p={}))  # per-process figures of the whole span come from the last
    summary = _point(total, seconds)
    summary["processes"] = _processes(rows[-1]) if rows else {}
    releases = app.releases.filter(created_at__gte=datetime.fromtimestamp(start, UTC))
    return {
        "app": app.name,
        "since": datetime.fromtimestamp(start, UTC).isoformat(),
        "step": step_seconds,
        "summary": summary,
        "points": [_point(row, step_seconds) for row in rows],
        "releases": [{"version": r.version, "time": r.created_at.isoformat(),
                      "description": r.description} for r in releases.order_by("version")],
    }
