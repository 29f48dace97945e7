"""Scheduler tick cost, and promotion vs a build (the "promotion ratio").

Pier's control plane runs in this process (Django set up on a temp data dir: SQLite and a
redis-server child on a unix socket, as the tests run it):

- ``tick``: ``cron_tick`` with JOBS scheduled jobs due at once (over 50 apps), each queued
  as a Celery task on the real Redis broker; the baseline is a tick with none due (the
  scan alone). It must stay far inside beat's 60 s interval.
- ``promotion``: a real build (buildpacks in Docker) of ``tests/fixtures/apps/procfile-only``
  against ``pipelines:promote`` of that build to a second app (image tagged under the
  target's repository + release rows; no rebuild). The source release is marked live with
  the runtime's own service (``release_mark``), as the runtime would.

    .venv/bin/python bench/cron.py            # 3 repetitions
    .venv/bin/python bench/cron.py --quick    # 1 repetition
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from _common import ROOT, docker_available, machine_info, ratio, table, write_result

APPS = 50
TICK_TARGET_SECONDS = 10.0
PROMOTION_TARGET_RATIO = 0.2
FIXTURE = ROOT / "tests" / "fixtures" / "apps" / "procfile-only"


def setup_django(tmp: Path) -> subprocess.Popen:
    """Start redis-server in tmp, point Pier's settings at tmp, migrate; return redis."""
    sock = tmp / "redis.sock"
    redis_proc = subprocess.Popen(
        ["redis-server", "--port", "0", "--unixsocket", str(sock), "--save", "",
         "--appendonly", "no", "--dir", str(tmp)], stdout=subprocess.DEVNULL)
    for _ in range(200):
        if sock.exists():
            break
        time.sleep(0.05)
    os.environ.update({"PIER_DATA_DIR": str(tmp / "data"), "REDIS_URL": f"unix://{sock}",
                       "DJANGO_SETTINGS_MODULE": "pier.settings", "PIER_LOG_LEVEL": "WARNING"})
    sys.path.insert(0, str(ROOT / "platform"))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", "--noinput", verbosity=0)
    return redis_proc


def bench_tick(user, jobs: int) -> dict:
    from datetime import timedelta

    from api.models import CronJob
    from api.services import cron
    from api.services.apps import app_create

    for a in range(APPS):
        app = app_create(user=user, name=f"tick-{time.time_ns() % 10**9}-{a}")
        cron.cron_sync(app=app, jobs=[
            {"command": f"python job{j}.py", "schedule": "*/10 * * * *"}
            for j in range(jobs // APPS)])
    due = max(CronJob.objects.values_list("next_run_at", flat=True))
    t0 = time.perf_counter()
    assert cron.cron_tick(now=due - timedelta(days=1)) == 0
    idle = time.perf_counter() - t0
    t0 = time.perf_counter()
    queued = cron.cron_tick(now=due)
    busy = time.perf_counter() - t0
    CronJob.objects.all().delete()
    return {"jobs_queued": queued, "idle_tick_seconds": round(idle, 4),
            "tick_seconds": round(busy, 3), "ms_per_job": round(busy * 1000 / queued, 3)}


def real_build(user, app):
    """Build FIXTURE for app with the worker's own code path; return the Build."""
    from api.models import Build
    from builds import services as build_services
    from builds.paths import build_dir
    from pier.redis import get_redis

    build = Build.objects.create(app=app, creator=user, source_sha="b" * 40)
    build_dir(build).mkdir(parents=True)
    with tarfile.open(build_dir(build) / "source.tar", "w") as tar:
        tar.add(FIXTURE, arcname=".")
    get_redis().set(build_services.listener_key(build.id), "1")
    return build_services.build_run(build_id=build.id)


def bench_promotion(user) -> dict:
    from api.models import Release
    from api.services import pipelines
    from api.services.apps import app_create
    from api.services.deploys import release_mark

    suffix = time.time_ns() % 10**9
    staging = app_create(user=user, name=f"stg-{suffix}")
    prod = app_create(user=user, name=f"prd-{suffix}")
    try:
        t0 = time.perf_counter()
        build = real_build(user, staging)
        build_seconds = time.perf_counter() - t0
        assert build.status == "succeeded", "the fixture did not build"
        release = staging.releases.first()
        release_mark(app_id=staging.id, version=release.version,
                     status=Release.Status.SUCCEEDED)
        pipelines.pipeline_create(user=user, name=f"p-{suffix}", app=staging, stage="staging")
        pipelines.pipeline_add(user=user, name=f"p-{suffix}", app=prod, stage="production")
        t0 = time.perf_counter()
        pipelines.pipeline_promote(user=user, app=staging)
        promote_seconds = time.perf_counter() - t0
    finally:
        from builds import images

        for app in (staging, prod):
            with contextlib.suppress(Exception):
                images.purge(app_id=app.id)
    return {"build_seconds": round(build_seconds, 3),
            "promote_seconds": round(promote_seconds, 3),
            "ratio": ratio(promote_seconds, build_seconds)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one repetition")
    parser.add_argument("--jobs", type=int, default=1000, help="jobs due at once (1000)")
    args = parser.parse_args()
    repeat = 1 if args.quick else 3
    if not docker_available():
        sys.exit("no Docker Engine: scripts/ensure-docker.sh")
    tmp = Path(tempfile.mkdtemp(prefix="pier-bench-cron-"))
    info = machine_info()
    redis_proc = setup_django(tmp)
    try:
        from api.services.tokens import user_create
        from builds.engine import ensure_stack_images

        ensure_stack_images(progress=lambda line: None)
        # A user per repetition: each owns APPS apps, under the per-user app quota.
        users = [user_create(email=f"bench{r}@example.com", password=None)
                 for r in range(repeat)]
        ticks = [bench_tick(user, args.jobs) for user in users]
        promotions = [bench_promotion(user) for user in users]
    finally:
        redis_proc.terminate()
        redis_proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    tick = statistics.median(t["tick_seconds"] for t in ticks)
    promo = statistics.median(p["ratio"] for p in promotions)
    print(table(["measure", "median", "target"], [
        [f"tick, {args.jobs} jobs due (s)", tick, f"< {TICK_TARGET_SECONDS:g}"],
        ["tick, none due (s)", statistics.median(t["idle_tick_seconds"] for t in ticks), "-"],
        ["build (s)", statistics.median(p["build_seconds"] for p in promotions), "-"],
        ["promote (s)", statistics.median(p["promote_seconds"] for p in promotions), "-"],
        ["promote / build", promo, f"<= {PROMOTION_TARGET_RATIO:g}"],
    ]))
    path = write_result("cron", {
        "benchmark": "cron", "machine": info,
        "method": {"tick": f"cron_tick with {args.jobs} jobs due over {APPS} apps, queued on "
                           "Redis (SQLite DB)",
                   "promotion": "build_run of procfile-only vs pipeline_promote to one app",
                   "repeat": repeat},
        "targets": {"tick_seconds": TICK_TARGET_SECONDS,
                    "promotion_ratio": PROMOTION_TARGET_RATIO},
        "meets_target": tick < TICK_TARGET_SECONDS and promo <= PROMOTION_TARGET_RATIO,
        "results": {"tick": ticks, "promotion": promotions},
    })
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
