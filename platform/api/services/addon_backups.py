"""Backups of PostgreSQL add-ons: pg_dump (custom format) into the data dir, pg_restore.

A capture is a row (``running``) and a Celery task that dumps into
``$PIER_DATA_DIR/addons/<add-on id>/b001.dump``; a failure keeps the row with its error.
Daily schedules run from Celery beat (``api.addon_backups_scheduled``) and keep the last
``PIER_ADDONS_BACKUP_RETAIN`` scheduled backups.
"""

import datetime
import logging
import re
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from addons.errors import ProviderError
from api.errors import Conflict, Invalid, NotFound
from api.models import Addon, AddonBackup, App
from api.services.addons import AddonUnavailable, provider_for

log = logging.getLogger(__name__)

TIME_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
BACKUP_RE = re.compile(r"^b?0*(\d+)$")


def backup_path(backup: AddonBackup) -> Path:
    return Path(settings.PIER_DATA_DIR) / "addons" / backup.addon_id.hex / f"{backup.label}.dump"


def _require_backups(addon: Addon) -> None:
    if addon.service != "postgresql":
        raise Invalid(f"{addon.name}: only PostgreSQL add-ons have backups")


def backup_create(*, addon: Addon, scheduled: bool = False) -> AddonBackup:
    """Number a new backup under a lock on the add-on; the caller runs it."""
    _require_backups(addon)
    with transaction.atomic():
        Addon.objects.select_for_update().filter(pk=addon.pk).first()
        if addon.backups.filter(status=AddonBackup.Status.RUNNING).exists():
            raise Conflict(f"a backup of {addon.name} is already running: see `pier pg:backups`")
        latest = addon.backups.aggregate(n=Max("number"))["n"] or 0
        return AddonBackup.objects.create(addon=addon, number=latest + 1, scheduled=scheduled)


def backup_capture(*, addon: Addon, scheduled: bool = False) -> AddonBackup:
    """Create a backup and queue its dump on the worker."""
    from api.tasks import addon_backup_task  # the task module imports this one

    backup = backup_create(addon=addon, scheduled=scheduled)
    transaction.on_commit(lambda: addon_backup_task.delay(backup.pk))
    return backup


def backup_run(*, backup_id: int) -> AddonBackup:
    """Dump the add-on's database into the backup's file; record the size or the error."""
    backup = AddonBackup.objects.select_related("addon").get(pk=backup_id)
    path = backup_path(backup)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        provider_for(backup.addon).dump(backup.addon, path)
    except (ProviderError, OSError) as e:
        backup.status, backup.error = AddonBackup.Status.FAILED, str(e)
        path.unlink(missing_ok=True)
    else:
        backup.status, backup.size = AddonBackup.Status.SUCCEEDED, path.stat().st_size
    backup.finished_at = timezone.now()
    backup.save(update_fields=["status", "error", "size", "finished_at"])
    return backup


def backup_final(*, addon: Addon) -> AddonBackup | None:
    """Back up a PostgreSQL add-on about to be destroyed; refuse to go on if that fails."""
    if addon.service != "postgresql":
        return None
    backup = backup_run(backup_id=backup_create(addon=addon).pk)
    if backup.status != AddonBackup.Status.SUCCEEDED:
        raise AddonUnavailable(f"the final backup of {addon.name} failed, so it was not "
                               f"destroyed: {backup.error}")
    return backup


def backup_get(*, addon: Addon, label: str) -> AddonBackup:
    match = BACKUP_RE.match(str(label).strip())
    backup = addon.backups.filter(number=int(match.group(1))).first() if match else None
    if backup is None:
        raise NotFound(f"backup {label!r} of {addon.name} not found: see `pier pg:backups`")
    return backup


def backup_file(*, addon: Addon, label: str) -> tuple[AddonBackup, Path]:
    """Return a backup that can be downloaded and its dump file."""
    backup = backup_get(addon=addon, label=label)
    if backup.status != AddonBackup.Status.SUCCEEDED:
        raise Invalid(f"backup {backup.label} {backup.status}: nothing to download")
    return backup, backup_path(backup)


def backup_restore(*, app: App, addon: Addon, label: str, confirm: str | None) -> AddonBackup:
    """Queue the restore of a backup into the add-on (the app's name confirms).

    The add-on is ``restoring`` until the worker is done (``backup_restore_run``).
    """
    from api.tasks import addon_restore_task  # the task module imports this one

    backup = backup_get(addon=addon, label=label)
    if confirm != app.name:
        raise Invalid(f"restoring {backup.label} overwrites the data of {addon.name}: run it "
                      f"again with --confirm {app.name}")
    if backup.status != AddonBackup.Status.SUCCEEDED:
        raise Conflict(f"backup {backup.label} {backup.status}: it cannot be restored")
    with transaction.atomic():
        started = Addon.objects.filter(pk=addon.pk, state=Addon.State.AVAILABLE).update(
            state=Addon.State.RESTORING, last_error="")
        if not started:
            addon.refresh_from_db()
            raise Conflict(f"{addon.name} is {addon.state}: restore once it is available")
        transaction.on_commit(lambda: addon_restore_task.delay(backup.pk))
    return backup


def backup_restore_run(*, backup_id: int) -> Addon:
    """Replace the add-on's data with the backup's; a failure is kept in its last_error.

    pg_restore runs in one transaction: when it fails, the data is as it was.
    """
    backup = AddonBackup.objects.select_related("addon").get(pk=backup_id)
    addon, error = backup.addon, ""
    try:
        provider_for(addon).restore(addon, backup_path(backup))
    except (ProviderError, OSError) as e:
        error = f"restoring {backup.label} into {addon.name} failed: {e}"
    Addon.objects.filter(pk=addon.pk, state=Addon.State.RESTORING).update(
        state=Addon.State.AVAILABLE, last_error=error)
    addon.refresh_from_db()
    return addon


def backup_schedule(*, addon: Addon, at: str) -> Addon:
    """Back up daily at HH:MM (UTC); an empty ``at`` stops it."""
    _require_backups(addon)
    at = (at or "").strip()
    if at and not TIME_RE.match(at):
        raise Invalid(f"invalid time {at!r}: use HH:MM in UTC, e.g. 02:00")
    addon.backup_at = at
    addon.save(update_fields=["backup_at"])
    return addon


def backups_scheduled_run(*, now: datetime.datetime | None = None) -> list[AddonBackup]:
    """Capture the scheduled backups that are due; prune old ones (Celery beat, each minute)."""
    now = now or timezone.now()
    started = []
    for addon in Addon.objects.exclude(backup_at="").filter(state=Addon.State.AVAILABLE):
        hour, minute = map(int, addon.backup_at.split(":"))
        due = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if now < due or addon.backups.filter(scheduled=True, created_at__gte=due).exists():
            continue
        try:
            started.append(backup_capture(addon=addon, scheduled=True))
        except Conflict:  # one is running; the next minute tries again
            continue
        backups_prune(addon=addon)
    return started


def backups_prune(*, addon: Addon) -> None:
    """Keep the newest PIER_ADDONS_BACKUP_RETAIN scheduled backups (manual ones stay)."""
    old = addon.backups.filter(scheduled=True).exclude(status=AddonBackup.Status.RUNNING)
    for backup in old[settings.PIER_ADDONS_BACKUP_RETAIN:]:
        backup_path(backup).unlink(missing_ok=True)
        backup.delete()
