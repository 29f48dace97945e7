"""What the runtime reports back: releases going live or failing, and process statuses."""

from datetime import UTC, datetime

from django.db import transaction

from api import dyno_status
from api.desired import release_to_run
from api.models import App, Release
from api.services.cron import cron_sync
from api.services.releases import release_event
from api.services.webhooks import webhook_event


def release_mark(*, app_id: str, version: int, status: str) -> None:
    """Record the runtime's verdict on a pending release (later verdicts don't undo it)."""
    with transaction.atomic():
        changed = Release.objects.filter(
            app_id=app_id, version=version, status=Release.Status.PENDING
        ).update(status=status)
        if changed:
            release = Release.objects.select_related("app").get(app_id=app_id, version=version)
            release_event(release=release, action=status)
            running = release_to_run(app=release.app)
            if status == Release.Status.FAILED and running is not None:
                cron_sync(app=release.app, jobs=running.build.cron)  # the jobs of what runs


def releases_without_web_settle(*, apps) -> None:
    """Mark pending releases live for apps with no web process: there is no health to wait for."""
    for desired in apps:
        web = desired.spec("web")
        if web is None or web.quantity == 0:
            release_mark(
                app_id=desired.id, version=desired.release, status=Release.Status.SUCCEEDED
            )


def statuses_record(*, processes) -> None:
    """Store what the engine runs, per app id, in the shape `ps` shows."""
    by_app: dict[str, dict[str, dict]] = {
        str(pk): {} for pk in App.objects.values_list("pk", flat=True)
    }
    for p in sorted(processes, key=lambda p: p.release):  # the newest release wins a name
        if p.app not in by_app:
            continue
        started = datetime.fromtimestamp(p.started_at, UTC).isoformat() if p.started_at else None
        by_app[p.app][p.name] = {
            "state": p.state,
            "release": p.release,
            "started_at": started,
            "restarts": p.restarts,
            "exit_code": p.exit_code,
            "oom_killed": p.oom_killed,
            "node": p.node,
        }
    for app, statuses in by_app.items():
        dyno_status.statuses_write(app=app, statuses=statuses)


def dyno_crashes_report(*, crashes) -> None:
    """Fire a dyno webhook event per crash: ``crashes`` holds the ProcessStatus of each."""
    for p in crashes:
        app = App.objects.filter(pk=p.app).first()
        if app is not None:
            webhook_event(app=app, event="dyno", action="oom" if p.oom_killed else "crashed",
                          data={"name": p.name, "release": p.release, "exit_code": p.exit_code})
