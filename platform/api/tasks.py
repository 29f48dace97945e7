"""Celery tasks of the API: each takes ids and calls a service (api.services)."""

import redis
from celery import shared_task
from docker.errors import DockerException

from api.services import addon_backups, addons, certs, cron, webhooks
from api.services.apps import PurgePending, app_purge
from api.services.oneoff import oneoff_run_detached

# A destroyed app's images stay in use until the runtime has stopped its processes.
PURGE_RETRY_SECONDS = 15
PURGE_RETRIES = 40


@shared_task(name="api.app_purge", bind=True, max_retries=PURGE_RETRIES,
             default_retry_delay=PURGE_RETRY_SECONDS)
def app_purge_task(self, app_id: str, build_ids: list[str]) -> None:
    """Remove what a destroyed app left in the engine, Redis and the data dir; retried."""
    try:
        app_purge(app_id=app_id, build_ids=build_ids)
    except (PurgePending, DockerException, redis.RedisError, OSError) as e:
        raise self.retry(exc=e) from e


@shared_task(name="api.oneoff_detached")
def oneoff_detached_task(app_id: str, command: str, memory_mb: int, dyno: str) -> int:
    return oneoff_run_detached(app_id=app_id, command=command, memory_mb=memory_mb, dyno=dyno)


@shared_task(name="api.certs_issue")
def certs_issue_task(certificate_id: int) -> None:
    """One ACME order for an app's certificate (queued by certs:auto:enable and renewals)."""
    certs.certificate_issue(certificate_id=certificate_id)


@shared_task(name="api.certs_renew")
def certs_renew_task() -> int:
    """Periodic (Celery beat): queue the ACME orders due, note expired certificates."""
    return certs.certificates_renew_due()


@shared_task(name="api.addon_provision")
def addon_provision_task(addon_id: str, user_id: int) -> str:
    """Start a new add-on and attach it (`addons:create` answered 202)."""
    return addons.addon_provision(addon_id=addon_id, user_id=user_id).state


@shared_task(name="api.addon_restore")
def addon_restore_task(backup_id: int) -> str:
    """Restore a backup into its add-on (`pg:backups:restore` answered 202)."""
    return addon_backups.backup_restore_run(backup_id=backup_id).state


@shared_task(name="api.addon_backup")
def addon_backup_task(backup_id: int) -> None:
    """Dump one add-on backup (`pg:backups:capture`, schedules)."""
    addon_backups.backup_run(backup_id=backup_id)


@shared_task(name="api.addon_backups_scheduled")
def addon_backups_scheduled_task() -> int:
    """Periodic (Celery beat, every minute): start the scheduled backups that are due."""
    return len(addon_backups.backups_scheduled_run())


@shared_task(name="api.webhook_deliver")
def webhook_deliver_task(delivery_id: str) -> str | None:
    """One attempt at a webhook delivery (on the one-off queue, never the build queue)."""
    return webhooks.webhook_deliver(delivery_id=delivery_id)


@shared_task(name="api.webhooks_retry")
def webhooks_retry_task() -> int:
    """Periodic (Celery beat): queue webhook deliveries whose next attempt is due."""
    return webhooks.webhooks_retry_due()


@shared_task(name="api.cron_tick")
def cron_tick_task() -> int:
    """Periodic (Celery beat, every minute): queue the scheduled jobs that are due."""
    return cron.cron_tick()


@shared_task(name="api.cron_run", bind=True,
             max_retries=cron.SLOT_WAIT_SECONDS // cron.SLOT_RETRY_SECONDS)
def cron_run_task(self, job_id: int) -> int | None:
    """Run one scheduled job as a one-off of the app's current release (scheduler.N)."""
    try:
        return cron.cron_run(job_id=job_id, may_wait=self.request.retries < self.max_retries,
                             attempt=self.request.retries)
    except cron.SlotsBusy:
        raise self.retry(countdown=cron.SLOT_RETRY_SECONDS) from None
