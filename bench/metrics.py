"""What collecting and reading metrics costs.

- ``collector``: 100 app processes (busybox containers, 10 apps x 10 web) run; each cycle
  the collector lists them, reads their cgroup files, counts ENTRIES router access log
  entries and writes the buckets to Redis, as the runtime does every 10 s. Its CPU (this
  process's CPU time per cycle over the 10 s interval) must stay under 2% of one core.
  Baseline in the same run: what Docker's stats API (``GET /containers/{id}/stats``, the
  way not taken) takes per container, times 100.
- ``api``: ``GET /api/apps/{app}/metrics`` over full rings (7 days: every slot of the 10 s,
  1 min and 10 min rings written, 5 processes a bucket), in-process through Django and DRF
  with a real token, for 1 h, 24 h and 7 d; target < 100 ms. Baseline in the same run:
  ``GET /api/apps/{app}/formation``, a plain endpoint.

    .venv/bin/python bench/metrics.py            # 6 collector cycles, 20 API requests each
    .venv/bin/python bench/metrics.py --quick    # 3 and 5
    .venv/bin/python bench/metrics.py --only api # or --only collector
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _common import ROOT, docker_available, machine_info, ratio, table, write_result
from cron import setup_django

sys.path.insert(0, str(ROOT / "tests" / "integration" / "runtime"))

PROCESSES, APPS = 100, 10
ENTRIES = 1000  # router log entries per 10 s cycle (100 req/s across the apps)
INTERVAL = 10.0
CPU_TARGET_PERCENT = 2.0
API_TARGET_MS = 100.0


def start_processes(backend, image: str) -> list[str]:
    from runtime.desired import DesiredApp, HealthCheck, ProcessSpec

    spec = ProcessSpec("web", 10, "exec sleep 100000", memory_mb=32, max_processes=8)
    apps = [DesiredApp(name=f"bench-metrics-{n}", release=1, image=image, formation=(spec,),
                       healthcheck=HealthCheck()) for n in range(APPS)]
    jobs = [(app, i) for app in apps for i in range(1, spec.quantity + 1)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda job: backend.start_process(job[0], spec, job[1]), jobs))
    return [app.id for app in apps]


def entries(app_ids: list[str], now: float) -> list[dict]:
    return [{"pier_app": app_ids[i % len(app_ids)], "ts": now, "status": 200 + (i % 4) * 100,
             "upstream_duration": (i * 7) % 900, "request": {"method": "GET"}}
            for i in range(ENTRIES)]


def bench_collector(cycles: int, store) -> dict:
    import docker
    from rt_helpers import busybox_image

    from runtime.backends.docker import Backend
    from runtime.metrics import Collector

    client = docker.from_env()
    tag = uuid.uuid4().hex[:8]
    backend = Backend(client=client, labels={"pier.bench": tag}, name_prefix=f"pier-bench-{tag}-")
    backend.ensure_network()
    try:
        t0 = time.perf_counter()
        app_ids = start_processes(backend, busybox_image(client))
        print(f"started {PROCESSES} processes in {time.perf_counter() - t0:.1f} s")
        collector = Collector(store, backend.running_processes)
        collector.sample()  # the first sample only reads CPU counters
        cpu, wall = [], []
        for _ in range(cycles):
            time.sleep(1)
            feed = entries(app_ids, time.time())
            c0, w0 = time.process_time(), time.perf_counter()
            for entry in feed:
                collector.observe(entry)
            collector.sample()
            collector.flush()
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
        seen = len(store.read(app_ids[0], start=time.time() - 60, end=time.time())[1])
        assert seen, "the collector wrote nothing"
        stats_calls = []
        for p in backend.running_processes()[:5]:
            w0 = time.perf_counter()
            client.api.stats(p.container_id, stream=False)
            stats_calls.append(time.perf_counter() - w0)
        cycle_cpu = statistics.median(cpu)
        return {
            "processes": PROCESSES, "router_entries_per_cycle": ENTRIES,
            "cycle_cpu_ms": round(cycle_cpu * 1000, 1),
            "cycle_wall_ms": round(statistics.median(wall) * 1000, 1),
            "cpu_percent_of_one_core": round(100 * cycle_cpu / INTERVAL, 3),
            "docker_stats_seconds_per_container": round(statistics.median(stats_calls), 3),
            "docker_stats_seconds_for_all": round(statistics.median(stats_calls) * PROCESSES, 1),
            "collector_vs_docker_stats": ratio(statistics.median(wall),
                                               statistics.median(stats_calls) * PROCESSES),
            "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
    finally:
        for container in client.containers.list(all=True, filters={"label": f"pier.bench={tag}"}):
            container.remove(force=True)


def fill_week(store, app_id: str) -> int:
    """Write every slot of every ring of one app; return the bytes Redis holds for them."""
    from runtime.metrics import RESOLUTIONS, buckets
    from runtime.metrics.store import key

    now = int(time.time())
    for resolution, slots in RESOLUTIONS:
        with store.client.pipeline(transaction=False) as pipe:
            for i in range(slots):
                start = now - now % resolution - i * resolution
                bucket = buckets.new(start)
                for n in range(resolution // 2):
                    buckets.add_request(bucket, 200 + (n % 4) * 100, (n * 37) % 1200)
                for p in range(1, 6):
                    buckets.add_process(bucket, f"web.{p}", cpu=0.5 * resolution,
                                        seconds=resolution, memory=(100 + p) << 20, limit=512 << 20)
                pipe.hset(key(app_id, resolution), store.slot(resolution, start),
                          json.dumps(bucket, separators=(",", ":")))
            pipe.execute()
    return sum(store.client.memory_usage(key(app_id, r)) or 0 for r, _ in RESOLUTIONS)


def bench_api(requests: int) -> dict:
    from django.test import Client

    from api.services.apps import app_create
    from api.services.tokens import token_create, user_create
    from pier.redis import get_redis
    from runtime.metrics import MetricsStore

    user = user_create(email=f"bench-{uuid.uuid4().hex[:6]}@example.com", password=None)
    _, token = token_create(user=user, name="bench")
    app = app_create(user=user, name=f"bench-api-{uuid.uuid4().hex[:6]}")
    ring_bytes = fill_week(MetricsStore(get_redis()), str(app.id))
    http = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="127.0.0.1")

    def timed(path: str) -> tuple[list[float], list[float]]:
        """Return wall and CPU milliseconds of each request (CPU is steadier on a busy box)."""
        times, cpu = [], []
        for _ in range(requests):
            c0, t0 = time.process_time(), time.perf_counter()
            response = http.get(path)
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
            assert response.status_code == 200, response.content[:200]
        return times, cpu

    base = f"/api/apps/{app.name}"
    result = {"ring_bytes_per_app": ring_bytes}
    times, cpu = timed(f"{base}/formation")
    formation, formation_cpu = statistics.median(times), statistics.median(cpu)
    result["formation_ms"] = round(formation, 1)
    result["formation_cpu_ms"] = round(formation_cpu, 1)
    for since in ("1h", "24h", "7d"):
        times, cpu = timed(f"{base}/metrics?since={since}")
        result[f"metrics_{since}_ms"] = round(statistics.median(times), 1)
        result[f"metrics_{since}_max_ms"] = round(max(times), 1)
        result[f"metrics_{since}_cpu_ms"] = round(statistics.median(cpu), 1)
        result[f"metrics_{since}_vs_formation"] = ratio(statistics.median(times), formation)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=("collector", "api"))
    args = parser.parse_args()
    cycles, requests = (3, 5) if args.quick else (6, 20)
    info = machine_info()
    with tempfile.TemporaryDirectory(prefix="pier-bench-metrics-") as tmp:
        redis_proc = setup_django(Path(tmp))
        try:
            from pier.redis import get_redis
            from runtime.metrics import MetricsStore

            store = MetricsStore(get_redis())
            collector = None
            if args.only != "api" and docker_available():
                collector = bench_collector(cycles, store)
            api = bench_api(requests) if args.only != "collector" else None
        finally:
            redis_proc.terminate()
    rows = []
    if collector:
        rows += [
            ["collector CPU, % of one core", f"{collector['cpu_percent_of_one_core']:.2f}%",
             f"< {CPU_TARGET_PERCENT}%"],
            ["collector cycle (wall)", f"{collector['cycle_wall_ms']} ms",
             f"docker stats: {collector['docker_stats_seconds_for_all']} s"],
        ]
    if api:
        rows += [[f"GET metrics?since={s}",
                  f"{api[f'metrics_{s}_ms']} ms (CPU {api[f'metrics_{s}_cpu_ms']} ms)",
                  f"< {API_TARGET_MS:.0f} ms (formation {api['formation_ms']} ms, "
                  f"CPU {api['formation_cpu_ms']} ms)"]
                 for s in ("1h", "24h", "7d")]
    print(table(["measure", "median", "target / baseline"], rows))
    path = write_result("metrics", {"machine": info, "collector": collector, "api": api,
                                    "targets": {"cpu_percent": CPU_TARGET_PERCENT,
                                                "api_ms": API_TARGET_MS}})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
