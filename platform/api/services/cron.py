"""Scheduled jobs (app.json "cron", Heroku Scheduler semantics), times in UTC.

The jobs are the current release's; ``cron_tick`` (Celery beat, every minute) queues the
due ones on the one-off queue, each run a one-off process of the release current when it
starts (``scheduler.N`` in the logs), counted against its owner's one-off processes
(PIER_MAX_ONEOFFS_PER_USER): a run finding them all taken waits for one, up to
``SLOT_WAIT_SECONDS``, then is logged as not started. One run at a time per job: a job
still running when its time comes again is skipped, and logged. The next time is always
counted from now, so runs missed while Pier was down happen once on recovery, not once per
missed time. The due runs of one tick are queued taking each app in turn, so an app with
many jobs does not hold back the others.
"""

import hashlib
import itertools
import logging
import secrets
from collections import defaultdict
from datetime import datetime, timedelta

from croniter import croniter
from django.db import transaction
from django.utils import timezone

from api.errors import Conflict, Invalid, NotFound, PierError, RateLimited
from api.models import App, CronJob
from api.services.oneoff import ONEOFF_TIMEOUT_SECONDS, LogLines, oneoff_prepare, oneoff_run
from logs.events import event_log

log = logging.getLogger(__name__)
# A run that never reported back (its worker was killed) stops blocking its job after this.
RUN_LEASE = timedelta(seconds=ONEOFF_TIMEOUT_SECONDS + 300)
# A run whose owner's one-off slots are all taken asks again this often, for this long.
SLOT_RETRY_SECONDS = 1
SLOT_WAIT_SECONDS = 300


class SlotsBusy(Exception):
    """The owner runs as many one-offs as allowed: the run is to be tried again shortly."""


def job_key(*, schedule: str, command: str) -> str:
    return hashlib.sha256(f"{schedule}\n{command}".encode()).hexdigest()[:8]


def next_run(schedule: str, after: datetime) -> datetime:
    return croniter(schedule, after).get_next(datetime)


def cron_sync(*, app: App, jobs: list[dict], now: datetime | None = None) -> None:
    """Make app's jobs those of a release; unchanged jobs keep their runs' history."""
    now = now or timezone.now()
    wanted = {job_key(schedule=j["schedule"], command=j["command"]): j for j in jobs}
    app.cron_jobs.exclude(key__in=list(wanted)).delete()
    existing = set(app.cron_jobs.values_list("key", flat=True))
    for key, job in wanted.items():
        if key not in existing:
            CronJob.objects.create(app=app, key=key, command=job["command"],
                                   schedule=job["schedule"],
                                   next_run_at=next_run(job["schedule"], now))


def cron_tick(*, now: datetime | None = None) -> int:
    """Queue every job that is due; return how many were queued.

    All the claims are written first, then the runs queued: a run starting at once never
    writes while the tick still does.
    """
    now = now or timezone.now()
    claimed = [job for job in CronJob.objects.filter(next_run_at__lte=now)
               if _claim(job=job, now=now)]
    return sum(_queue(job.pk) for job in _app_by_app(claimed))


def _app_by_app(jobs: list[CronJob]) -> list[CronJob]:
    """Order jobs taking one of each app in turn (the one-off queue is first come first run)."""
    by_app = defaultdict(list)
    for job in jobs:
        by_app[job.app_id].append(job)
    turns = itertools.zip_longest(*by_app.values())
    return [job for turn in turns for job in turn if job is not None]


def _claim(*, job: CronJob, now: datetime) -> bool:
    """Move the job's next time on; mark it running unless its last run still is."""
    with transaction.atomic():
        # Two ticks at once (two beats) move next_run_at once: only one queues the run.
        moved = CronJob.objects.filter(pk=job.pk, next_run_at=job.next_run_at).update(
            next_run_at=next_run(job.schedule, now))
        if not moved:
            return False
        if job.running_since and job.running_since > now - RUN_LEASE:
            event_log(app_id=job.app_id, dyno="scheduler", message=(
                f"Skipped scheduled run of `{job.command}` ({job.key}): the run started "
                f"{job.running_since:%H:%M:%S} UTC is still going"))
            return False
        CronJob.objects.filter(pk=job.pk).update(running_since=now)
        return True


class QueueUnavailable(PierError):
    status = 503
    id = "unavailable"


def _queue(job_id: int) -> bool:
    """Queue a run; when the queue is down, free the job at once rather than after a lease."""
    from api.tasks import cron_run_task

    try:
        cron_run_task.apply_async((job_id,), retry=False)
        return True
    except Exception as e:  # Redis unreachable: kombu's and redis' errors alike
        log.warning("scheduled job %s not queued: %s", job_id, e)
        CronJob.objects.filter(pk=job_id).update(running_since=None)
        return False


def cron_run_now(*, app: App, key: str) -> CronJob:
    """Queue one run of app's job ``key`` now (`pier cron:run`), unless one is running."""
    now = timezone.now()
    with transaction.atomic():
        job = app.cron_jobs.select_for_update().filter(key=key).first()
        if job is None:
            raise NotFound(f"{app.name} has no scheduled job {key}: see `pier cron`")
        if job.running_since and job.running_since > now - RUN_LEASE:
            raise Conflict(f"job {key} is running (since {job.running_since:%H:%M:%S} UTC): "
                           "one run at a time; try again when it has ended")
        job.running_since = now
        job.save(update_fields=["running_since"])
    if not _queue(job.pk):
        raise QueueUnavailable("could not queue the run: the one-off queue (Redis) is "
                               "unreachable; try again in a moment")
    return job


def cron_run(*, job_id: int, may_wait: bool = False, attempt: int = 0) -> int | None:
    """Run a queued job to its end; return its exit status (None: nothing could run).

    With ``may_wait``, a run whose owner has no one-off slot free raises ``SlotsBusy``
    (logged at the first attempt) for its task to retry, instead of being dropped.
    """
    job = CronJob.objects.select_related("app__owner").filter(pk=job_id).first()
    if job is None:
        return None  # a new release removed the job meanwhile
    started, code = timezone.now(), None
    try:
        # A run counts against the owner's one-off processes, like a `pier run`.
        desired, memory, dyno = oneoff_prepare(
            app=job.app, user=job.app.owner, command=job.command, size="standard",
            dyno=f"scheduler.{secrets.randbelow(9000) + 1000}")
    except RateLimited as e:
        if not may_wait:
            return _not_started(job, e)
        if attempt == 0:
            event_log(app_id=job.app_id, dyno="scheduler", message=(
                f"Scheduled run of `{job.command}` ({job.key}) waits for a one-off slot: {e}"))
        raise SlotsBusy(str(e)) from None
    except Invalid as e:
        return _not_started(job, e)
    try:
        output = LogLines(str(job.app_id), dyno)
        code = oneoff_run(desired=desired, command=job.command, dyno=dyno, output=output,
                          memory_mb=memory)
        output.flush()
        return code
    finally:
        CronJob.objects.filter(pk=job.pk).update(running_since=None, last_run_at=started,
                                                 last_status=code)


def _not_started(job: CronJob, error: PierError) -> None:
    event_log(app_id=job.app_id, dyno="scheduler",
              message=f"Scheduled run of `{job.command}` ({job.key}) not started: {error}")
    CronJob.objects.filter(pk=job.pk).update(running_since=None)
