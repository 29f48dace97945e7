"""Scheduled jobs (app.json "cron"): validated by a real build, run as real one-offs.

The scheduler's clock is injected (``cron_tick(now=...)``): what the test controls is
which minute it is, never how long anything takes. The runs are real Celery tasks on the
one-off queue, each a container of the app's real image.
"""

import json
import time
from datetime import timedelta

import pytest

from api.models import App, CronJob
from api.services import cron
from api.services.apps import app_create
from api.services.config import config_update
from builds.logstream import read_file
from builds.paths import build_output_path
from runtime.applog import LogLine, stream_key

pytestmark = pytest.mark.django_db(transaction=True)


def _app_json(*jobs: tuple[str, str]) -> dict[str, str]:
    return {"app.json": json.dumps(
        {"cron": [{"command": c, "schedule": s} for c, s in jobs]})}


def _lines(redis_client, app: App) -> list[LogLine]:
    return [LogLine.from_entry(i, f) for i, f in redis_client.xrange(stream_key(str(app.id)))]


def _wait(condition, what: str, limit: float = 60):
    deadline = time.monotonic() + limit
    while not (result := condition()):
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.2)
    return result


@pytest.mark.docker
def test_invalid_cron_fails_the_build_with_a_clear_message(user, devloop_build):
    app_create(user=user, name="badcron")
    build = devloop_build("badcron", _app_json(("python report.py", "61 * * * *")))
    assert build.status == "failed"
    output = read_file(build_output_path(build))
    assert "app.json cron job 1 ('python report.py') has an invalid schedule '61 * * * *'" \
        in output and "@daily" in output
    assert not App.objects.get(name="badcron").releases.exclude(build=None).exists()


@pytest.mark.docker
def test_jobs_run_as_scheduler_one_offs_one_at_a_time_and_follow_releases(
    user, devloop_build, devloop_oneoff_worker, redis_client, docker_client, settings
):
    app = app_create(user=user, name="ticker")
    config_update(app=app, changes={"GREETING": "hello"}, user=user)
    build = devloop_build("ticker", _app_json(("echo tick $DYNO $GREETING", "*/10 * * * *"),
                                              ("sleep 600", "@hourly")))
    assert build.status == "succeeded", read_file(build_output_path(build))
    tick, sleeper = CronJob.objects.filter(app=app).order_by("schedule")
    assert (tick.schedule, sleeper.schedule) == ("*/10 * * * *", "@hourly")
    assert tick.next_run_at.minute % 10 == 0 and tick.next_run_at.second == 0
    if sleeper.next_run_at == tick.next_run_at:
        # Released in an hour's last ten minutes, both jobs are first due at the full hour;
        # the steps below want the hourly job first due an hour later.
        sleeper.next_run_at += timedelta(hours=1)
        CronJob.objects.filter(pk=sleeper.pk).update(next_run_at=sleeper.next_run_at)

    # The clock reaches the first job's time: it runs once, in a one-off of the release.
    assert cron.cron_tick(now=tick.next_run_at) == 1
    _wait(lambda: CronJob.objects.get(pk=tick.pk).last_status is not None, "the run to end")
    lines = [line for line in _lines(redis_client, app) if line.dyno.startswith("scheduler.")]
    output = [line for line in lines if line.source == "app"]
    assert len(output) == 1 and output[0].message == f"tick {output[0].dyno} hello", lines
    tick.refresh_from_db()
    assert tick.last_status == 0 and tick.running_since is None

    # A run still going when its next time comes is skipped, and the log says so.
    first = sleeper.next_run_at  # the next full hour: the other job is due then too
    assert cron.cron_tick(now=first) == 2
    container = _wait(lambda: _scheduler_container(docker_client, app, "sleep"),
                      "the sleeper to start")
    _wait(lambda: CronJob.objects.get(pk=tick.pk).running_since is None, "the tick to end")
    # Runs count against the owner's one-off processes: with one allowed, the sleeper
    # holds it and the other job's run waits for it, and the log says so...
    settings.PIER_MAX_ONEOFFS_PER_USER = 1
    runs_before = CronJob.objects.get(pk=tick.pk).last_run_at
    assert cron.cron_tick(now=first + timedelta(hours=1)) == 1  # the tick job only
    _wait(lambda: any("waits for a one-off slot: you already run 1 one-off" in line.message
                      for line in _lines(redis_client, app)), "the wait to be logged")
    assert any("Skipped scheduled run of `sleep 600`" in line.message
               for line in _lines(redis_client, app))
    assert CronJob.objects.get(pk=tick.pk).last_run_at == runs_before
    # ...and runs as soon as the slot is free.
    container.kill()
    _wait(lambda: not CronJob.objects.filter(running_since__isnull=False).exists(),
          "the runs to end")
    tick.refresh_from_db()
    assert tick.last_run_at > runs_before and tick.last_status == 0
    # A run that may wait no more (its task's retries spent) is dropped, and logged.
    holder = cron.cron_run_now(app=app, key=sleeper.key)
    _wait(lambda: _scheduler_container(docker_client, app, "sleep"), "the sleeper again")
    assert cron.cron_run(job_id=tick.pk, may_wait=False) is None
    assert any("not started: you already run 1 one-off" in line.message
               for line in _lines(redis_client, app))
    _scheduler_container(docker_client, app, "sleep").kill()
    _wait(lambda: CronJob.objects.get(pk=holder.pk).running_since is None, "the sleeper to end")

    # A new release replaces the jobs; an unchanged job keeps its history.
    devloop_build("ticker", _app_json(("echo tick $DYNO $GREETING", "*/10 * * * *"),
                                      ("python report.py", "@daily")))
    jobs = {job.command: job for job in CronJob.objects.filter(app=app)}
    assert set(jobs) == {"echo tick $DYNO $GREETING", "python report.py"}
    assert jobs["echo tick $DYNO $GREETING"].last_status == 0


def _scheduler_container(client, app: App, command: str):
    for container in client.containers.list(filters={"label": f"pier.app={app.name}"}):
        if container.labels.get("pier.oneoff", "").startswith("scheduler.") and \
                command in " ".join(container.attrs["Config"]["Cmd"]):
            return container
    return None


def test_runs_missed_during_an_outage_happen_once(user, deployed):
    app = app_create(user=user, name="sleepyhead")
    deployed("sleepyhead")
    cron.cron_sync(app=app, jobs=[{"command": "python report.py", "schedule": "*/10 * * * *"}])
    job = CronJob.objects.get(app=app)
    due = job.next_run_at
    # Pier was down for three hours: eighteen times passed, one run is queued.
    assert cron.cron_tick(now=due + timedelta(hours=3)) == 1
    job.refresh_from_db()
    assert job.next_run_at == due + timedelta(hours=3, minutes=10)
    assert cron.cron_tick(now=due + timedelta(hours=3)) == 0
