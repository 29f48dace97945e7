"""One metrics bucket as a plain dict, small enough to keep thousands in Redis.

``{"t": start, "n": requests, "s": {"2": n, ...}, "h": [count per latency bin],
"ms": summed latency, "r": restarts, "o": OOM kills,
"p": {"web.1": {"cpu": CPU seconds, "sec": seconds sampled, "mem": bytes (max),
"lim": bytes}}}``. Buckets merge by addition (memory by maximum), so the 1 min and
10 min rollups are exact sums of the 10 s ones, and percentiles come from the merged
histogram, never from averaged percentiles.
"""

from __future__ import annotations

import bisect

# Upper edges (ms) of the latency bins; the last bin holds everything slower.
LATENCY_EDGES_MS = (5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 400, 500, 750, 1000, 1500,
                    2000, 3000, 5000, 10000, 30000)


def new(start: int) -> dict:
    return {"t": start, "n": 0, "s": {}, "h": [0] * (len(LATENCY_EDGES_MS) + 1), "ms": 0.0,
            "r": 0, "o": 0, "p": {}}


def add_request(bucket: dict, status: int, latency_ms: float) -> None:
    bucket["n"] += 1
    klass = str(status // 100) if 100 <= status < 600 else "5"  # no answer counts as 5xx
    bucket["s"][klass] = bucket["s"].get(klass, 0) + 1
    bucket["h"][bisect.bisect_left(LATENCY_EDGES_MS, latency_ms)] += 1
    bucket["ms"] += latency_ms


def add_process(bucket: dict, dyno: str, *, cpu: float, seconds: float, memory: int,
                limit: int | None) -> None:
    merge_process(bucket["p"], dyno, {"cpu": cpu, "sec": seconds, "mem": memory, "lim": limit})


def merge_process(processes: dict, dyno: str, sample: dict) -> None:
    mine = processes.setdefault(dyno, {"cpu": 0.0, "sec": 0.0, "mem": 0, "lim": None})
    mine["cpu"] += sample["cpu"]
    mine["sec"] += sample["sec"]
    mine["mem"] = max(mine["mem"], sample["mem"])
    mine["lim"] = sample["lim"] or mine["lim"]


def merge(into: dict, other: dict) -> dict:
    """Add ``other`` into ``into`` (same or coarser start) and return ``into``."""
    into["n"] += other["n"]
    for klass, count in other["s"].items():
        into["s"][klass] = into["s"].get(klass, 0) + count
    into["h"] = [a + b for a, b in zip(into["h"], other["h"], strict=True)]
    into["ms"] += other["ms"]
    into["r"] += other["r"]
    into["o"] += other["o"]
    for dyno, sample in other["p"].items():
        merge_process(into["p"], dyno, sample)
    return into


def percentile(histogram: list[int], q: float) -> float | None:
    """Return the q-th quantile (0-1) in ms, interpolated inside its bin; None when empty."""
    return percentiles(histogram, (q,))[0]


def percentiles(histogram: list[int], qs: tuple[float, ...]) -> list[float | None]:
    """Return the quantiles ``qs`` (ascending, 0-1) in ms, in one pass over the bins."""
    total = sum(histogram)
    if not total:
        return [None] * len(qs)
    found: list[float | None] = []
    seen = 0
    for index, count in enumerate(histogram):
        while count and len(found) < len(qs) and seen + count >= qs[len(found)] * total:
            rank = qs[len(found)] * total
            low = LATENCY_EDGES_MS[index - 1] if index else 0
            high = LATENCY_EDGES_MS[index] if index < len(LATENCY_EDGES_MS) else low * 2
            found.append(low + (high - low) * max(0.0, rank - seen) / count)
        seen += count
    return found + [float(LATENCY_EDGES_MS[-1])] * (len(qs) - len(found))
