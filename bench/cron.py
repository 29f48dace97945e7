"""The scheduler and promotion: start delay of due jobs, tick cost, promotion to serving.

- ``scheduler``: 100 short jobs across 20 apps (20 users, 5 jobs each, ``* * * * *``) due in
  the same minute. The control plane runs in this process (Django on a temp data dir:
  SQLite and a redis-server child, as ``make run`` embeds them); the Procfile's ``oneoff``
  worker runs as its own process with its default concurrency; the tick is queued at the
  minute's start as beat's crontab queues it. Each job prints ``date +%s.%N`` as its first
  act: its start delay is that time minus the minute's start. Target: all start within
  the minute; p50/p99 reported.
- ``tick``: ``cron_tick`` with JOBS jobs due at once (over 50 apps), each queued as a Celery
  task on the real Redis broker, against a tick with none due (the scan alone).
- ``promotion``: Pier runs whole (``manage.py up``, as bench/deploy.py starts it);
  ``pipelines:promote`` of a new staging build to production until production serves it
  through the router, against a config change on production until it serves the new value
  (the same runtime deploy, no image). Target ≤ 1.2×. Rounds alternate the two.

    .venv/bin/python bench/cron.py            # 3 promotion rounds
    .venv/bin/python bench/cron.py --quick    # 1 round
    .venv/bin/python bench/cron.py --only scheduler|tick|promotion
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from _common import ROOT, machine_info, ratio, require_docker, table, write_result

APPS = 50
TICK_TARGET_SECONDS = 10.0
PROMOTION_TARGET_RATIO = 1.2
SCHEDULER_APPS, JOBS_PER_APP = 20, 5
START_TARGET_SECONDS = 60.0
ONEOFF_CONCURRENCY = 4  # oneoffworker's default, which the bench's worker runs with
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


def deploy_like(*, app, user, source) -> None:
    """Give app a live release of source's image (tagged under app's repository, no build)."""
    from api.models import Build, Release
    from api.selectors import config_current
    from api.services.deploys import release_mark
    from builds import images
    from builds.services import build_release

    build = Build.objects.create(app=app, status=Build.Status.SUCCEEDED, creator=user,
                                 source_sha=source.source_sha, buildpack=source.buildpack,
                                 process_types=source.process_types)
    build.image = images.copy(image=source.image, app_id=app.id, build_id=build.id)
    build.save(update_fields=["image"])
    release = build_release(build=build, config=config_current(app=app), description="bench",
                            out=lambda line: None)
    release_mark(app_id=app.id, version=release.version, status=Release.Status.SUCCEEDED)


def oneoff_worker(tmp: Path) -> subprocess.Popen:
    """The Procfile's `oneoff` process, default concurrency, on this run's data dir and Redis."""
    log = (tmp / "oneoff.log").open("w")
    return subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "oneoffworker"],
                            cwd=ROOT, env=dict(os.environ), stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)


def bench_scheduler(tmp: Path) -> dict:
    from django.utils import timezone

    from api.models import CronJob
    from api.services import cron
    from api.services.apps import app_create
    from api.services.tokens import user_create
    from api.tasks import cron_tick_task
    from builds import images
    from pier.redis import get_redis
    from runtime.applog import LogLine, stream_key

    users = [user_create(email=f"cron{u}@example.com", password=None)
             for u in range(SCHEDULER_APPS)]
    apps = [app_create(user=u, name=f"cron-{i}-{time.time_ns() % 10**6}")
            for i, u in enumerate(users)]
    worker = oneoff_worker(tmp)
    try:
        build = real_build(users[0], apps[0])
        assert build.status == "succeeded", "the fixture did not build"
        from api.models import Release
        from api.services.deploys import release_mark

        release_mark(app_id=apps[0].id, version=apps[0].releases.first().version,
                     status=Release.Status.SUCCEEDED)
        for app, user in zip(apps[1:], users[1:], strict=True):
            deploy_like(app=app, user=user, source=build)
        for app in apps:
            cron.cron_sync(app=app, jobs=[{"command": f"date +%s.%N  # job {j}",
                                           "schedule": "* * * * *"}
                                          for j in range(JOBS_PER_APP)])
        now = timezone.now()
        minute = (now + dt.timedelta(minutes=1)).replace(second=0, microsecond=0)
        if (minute - now).total_seconds() < 5:  # room to set up before the minute starts
            minute += dt.timedelta(minutes=1)
        CronJob.objects.update(next_run_at=minute)
        time.sleep(max(0.0, (minute - timezone.now()).total_seconds()))
        cron_tick_task.apply_async()  # what beat's crontab queues at second 0
        total = SCHEDULER_APPS * JOBS_PER_APP
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and \
                CronJob.objects.filter(last_status__isnull=False).count() < total:
            time.sleep(0.5)
        redis = get_redis()
        delays = []
        for app in apps:
            for entry_id, fields in redis.xrange(stream_key(str(app.id))):
                line = LogLine.from_entry(entry_id, fields)
                if line.source == "app" and line.dyno.startswith("scheduler."):
                    delays.append(float(line.message) - minute.timestamp())
        ended = CronJob.objects.filter(last_status=0).count()
        floor = docker_floor(build.image, total, ONEOFF_CONCURRENCY)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(60)
        for app in apps:
            with contextlib.suppress(Exception):
                images.purge(app_id=app.id)
    delays.sort()
    cuts = statistics.quantiles(delays, n=100) if len(delays) > 1 else delays * 99
    return {"jobs": total, "started": len(delays), "ended_ok": ended, "docker_floor": floor,
            "start_delay_p50": round(statistics.median(delays), 3) if delays else None,
            "start_delay_p99": round(cuts[98], 3) if delays else None,
            "start_delay_max": round(delays[-1], 3) if delays else None}


def docker_floor(image: str, runs: int, concurrency: int) -> dict:
    """The same number of `docker run --rm IMAGE date` at the worker's concurrency: the floor."""
    from concurrent.futures import ThreadPoolExecutor

    import docker

    client = docker.from_env()
    start = time.time()

    def run(_):
        client.containers.run(image, ["date", "+%s.%N"], remove=True, network_disabled=True)
        return time.time() - start

    with ThreadPoolExecutor(concurrency) as pool:
        ended = sorted(pool.map(run, range(runs)))
    return {"runs": runs, "concurrency": concurrency, "all_ended_seconds": round(ended[-1], 3)}


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


APP_PY = """\
import http.server, os
VERSION = {version!r}
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"{{VERSION}} {{os.environ.get('MARKER', '-')}}\\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.HTTPServer(("0.0.0.0", int(os.environ["PORT"])), H).serve_forever()
"""


def bench_promotion(tmp: Path, rounds: int) -> list[dict]:
    import httpx
    from deploy import Platform, git, wait_answer

    tmp.mkdir()
    platform = Platform(tmp)
    platform.start()
    api = httpx.Client(base_url=platform.url + "/api", timeout=120,
                       headers={"Authorization": f"Bearer {platform.token}"})
    repo = tmp / "repo"
    repo.mkdir()
    git("init", "-q", "-b", "main", cwd=repo)

    def push(version: str) -> None:
        (repo / "Procfile").write_text("web: python3 app.py\n")
        (repo / "app.py").write_text(APP_PY.format(version=version))
        git("add", "-A", cwd=repo)
        git("commit", "-qm", version, cwd=repo)
        pushed = git("push", platform.git_url("stg"), "HEAD:main", cwd=repo)
        if pushed.returncode != 0:
            raise RuntimeError(f"git push failed:\n{pushed.stderr[-3000:]}")
        serves("stg", f"{version} ")

    def serves(app: str, text: str) -> float:
        return wait_answer(f"http://127.0.0.1:{platform.router_port}/", text,
                           headers={"Host": f"{app}.localhost"})

    def call(method: str, path: str, **kwargs) -> None:
        response = api.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")

    try:
        for app in ("stg", "prd"):
            platform.create_app(app)
        push("v0")
        call("POST", "/pipelines", json={"name": "shop", "app": "stg", "stage": "staging"})
        call("POST", "/pipelines/shop/apps", json={"app": "prd", "stage": "production"})
        call("POST", "/apps/stg/pipeline-promotions")
        serves("prd", "v0 ")
        results = []
        for n in range(1, rounds + 1):
            timed = {}
            for kind in (("config", "promote") if n % 2 else ("promote", "config")):
                if kind == "promote":
                    push(f"v{n}")
                    start = time.monotonic()
                    call("POST", "/apps/stg/pipeline-promotions")
                    timed["promote"] = serves("prd", f"v{n} ") - start
                else:
                    start = time.monotonic()
                    call("PATCH", "/apps/prd/config-vars", json={"MARKER": f"c{n}"})
                    timed["config"] = serves("prd", f" c{n}") - start
            results.append({"promote_seconds": round(timed["promote"], 3),
                            "config_seconds": round(timed["config"], 3),
                            "ratio": ratio(timed["promote"], timed["config"])})
        return results
    finally:
        import docker

        platform.stop()
        platform.remove_app_containers(docker.from_env())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one promotion round")
    parser.add_argument("--jobs", type=int, default=1000, help="jobs due at once in `tick`")
    parser.add_argument("--only", choices=["scheduler", "tick", "promotion"])
    args = parser.parse_args()
    rounds = 1 if args.quick else 3
    parts = [args.only] if args.only else ["scheduler", "tick", "promotion"]
    require_docker()
    tmp = Path(tempfile.mkdtemp(prefix="pier-bench-cron-"))
    info = machine_info()
    results, rows, met = {}, [], []
    redis_proc = setup_django(tmp)
    try:
        from api.services.tokens import user_create
        from builds.engine import ensure_stack_images

        ensure_stack_images(progress=lambda line: None)
        if "scheduler" in parts:
            s = results["scheduler"] = bench_scheduler(tmp)
            met.append(s["started"] == s["jobs"] and s["start_delay_max"] < START_TARGET_SECONDS)
            rows += [["jobs started / due in one minute", f"{s['started']} / {s['jobs']}",
                      "all"],
                     ["start delay p50 (s)", s["start_delay_p50"], "-"],
                     ["start delay p99 (s)", s["start_delay_p99"], "-"],
                     ["start delay max (s)", s["start_delay_max"], f"< {START_TARGET_SECONDS:g}"],
                     [f"floor: {s['jobs']} docker runs, {ONEOFF_CONCURRENCY} at once (s)",
                      s["docker_floor"]["all_ended_seconds"], "-"]]
        if "tick" in parts:
            t = results["tick"] = bench_tick(user_create(email="tick@example.com", password=None),
                                             args.jobs)
            met.append(t["tick_seconds"] < TICK_TARGET_SECONDS)
            rows += [[f"tick, {args.jobs} jobs due (s)", t["tick_seconds"],
                      f"< {TICK_TARGET_SECONDS:g}"],
                     ["tick, none due (s)", t["idle_tick_seconds"], "-"]]
        if "promotion" in parts:
            p = results["promotion"] = bench_promotion(tmp / "platform", rounds)
            promo = statistics.median(r["ratio"] for r in p)
            met.append(promo <= PROMOTION_TARGET_RATIO)
            rows += [["config change to serving (s)",
                      statistics.median(r["config_seconds"] for r in p), "-"],
                     ["promotion to serving (s)",
                      statistics.median(r["promote_seconds"] for r in p), "-"],
                     ["promotion / config change", promo, f"<= {PROMOTION_TARGET_RATIO:g}"]]
    finally:
        redis_proc.terminate()
        redis_proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    print(table(["measure", "median", "target"], rows))
    path = write_result("cron", {
        "benchmark": "cron", "machine": info,
        "method": {"scheduler": f"{SCHEDULER_APPS} apps of {SCHEDULER_APPS} users, "
                                f"{JOBS_PER_APP} jobs each due the same minute; the oneoff "
                                "worker at its default concurrency; delay = the job's own "
                                "`date` minus the minute's start",
                   "tick": f"cron_tick with {args.jobs} jobs due over {APPS} apps, queued on "
                           "Redis (SQLite DB)",
                   "promotion": "manage.py up; promote a new staging build vs a config change "
                                "on production, each until production serves it",
                   "promotion_rounds": rounds},
        "targets": {"start_delay_max_seconds": START_TARGET_SECONDS,
                    "tick_seconds": TICK_TARGET_SECONDS,
                    "promotion_ratio": PROMOTION_TARGET_RATIO},
        "meets_target": all(met),
        "results": results,
    })
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
