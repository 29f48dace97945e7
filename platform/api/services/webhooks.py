"""App webhooks: events of an app POSTed, signed, to the URLs its users add.

Services fire events with ``webhook_event`` inside their own transaction; it only writes
delivery rows and queues them (after commit) on the one-off queue, so a slow or dead
endpoint never holds up a deploy, a build or another webhook. Each attempt has a short
timeout; a failed one is retried with backoff for ``RETRY_WINDOW``.

The body (schema version 1) of every delivery::

    {"id": "<delivery id>", "webhook_id": "<webhook id>", "event": "api:release",
     "action": "created", "created_at": "<ISO 8601, UTC>",
     "app": {"id": "<app id>", "name": "<app name>"},
     "data": {...}}   # the entity: see EVENTS

``Pier-Signature: sha256=<hex>`` is the HMAC-SHA256 of the exact body with the webhook's
secret; ``Pier-Event``, ``Pier-Delivery-Id`` and ``Pier-Webhook-Id`` repeat the envelope.
"""

import hashlib
import hmac
import json
import logging
import secrets
import uuid
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from api.errors import Conflict, Invalid, NotFound
from api.models import App, Webhook, WebhookDelivery
from pier.runtime_config import outbound_policy
from runtime import outbound

log = logging.getLogger(__name__)

# Entity → the actions it fires and what its "data" holds.
EVENTS = {
    "api:build": "started, succeeded, failed; data: id, status, source_sha",
    "api:release": "created, succeeded, failed; data: version, status, description",
    "api:domain": "created, destroyed; data: hostname",
    "dyno": "scaled, crashed, oom; data: formation (scaled) or name, exit_code (the others)",
}
RETRY_WINDOW = timedelta(hours=24)
KEEP = timedelta(days=7)
BACKOFF_FIRST = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=1)
FINAL = (WebhookDelivery.Status.SUCCEEDED, WebhookDelivery.Status.FAILED)


def webhook_add(*, app: App, url, include, secret=None) -> Webhook:
    """Subscribe url to the app's events of the entities in include."""
    url = _validate_url(url)
    include = _validate_include(include)
    if secret is not None and (not isinstance(secret, str) or not 8 <= len(secret) <= 200):
        raise Invalid("the secret must be 8 to 200 characters, or left out to get one made")
    try:
        # Checked again at every delivery: the name may point elsewhere later.
        outbound_policy().addresses(urlsplit(url).hostname, urlsplit(url).port,
                                    what="webhook host")
    except (outbound.Refused, outbound.Unresolved) as e:
        raise Invalid(str(e)) from None
    try:
        with transaction.atomic():
            return Webhook.objects.create(app=app, url=url, include=include,
                                          secret=secret or secrets.token_urlsafe(32))
    except IntegrityError:
        raise Conflict(f"{app.name} already has a webhook to {url}: remove it first") from None


def _validate_url(url) -> str:
    if not isinstance(url, str) or not url.strip():
        raise Invalid("a webhook URL is required, e.g. https://hooks.example.com/pier")
    url = url.strip()
    parts = urlsplit(url)
    if any(ch.isspace() or ord(ch) < 32 for ch in url) or len(url) > 1000:
        raise Invalid("a webhook URL must be one line without spaces, at most 1000 characters")
    if parts.scheme.lower() not in ("https", "http") or not parts.hostname:
        raise Invalid(f"webhook URL {url!r} must be https:// (or http://) with a host")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise Invalid(f"invalid port in webhook URL {url!r}") from None
    return url


def _validate_include(include) -> list[str]:
    if isinstance(include, str):
        include = [part.strip() for part in include.split(",") if part.strip()]
    known = ", ".join(EVENTS)
    if not isinstance(include, list) or not include:
        raise Invalid(f"include names the events to send, comma-separated: {known}")
    unknown = [e for e in include if e not in EVENTS]
    if unknown:
        raise Invalid(f"unknown webhook event {unknown[0]!r}: use {known}")
    return sorted(set(include))


def webhook_remove(*, app: App, webhook_id: str) -> None:
    try:
        deleted, _ = app.webhooks.filter(pk=uuid.UUID(str(webhook_id))).delete()
    except ValueError:
        deleted = 0
    if not deleted:
        raise NotFound(f"{app.name} has no webhook {webhook_id}: see `pier webhooks`")


def webhook_event(*, app: App, event: str, action: str, data: dict) -> None:
    """Record a delivery of this event for each webhook of app that includes it.

    Call it inside the transaction that makes the change: the deliveries exist only if the
    change does, and are queued once it is committed.
    """
    hooks = [h for h in app.webhooks.all() if event in h.include]
    now = timezone.now()
    for hook in hooks:
        delivery = WebhookDelivery(webhook=hook, event=event, action=action, next_attempt_at=now)
        delivery.body = json.dumps({
            "id": str(delivery.id), "webhook_id": str(hook.id), "event": event,
            "action": action, "created_at": now.isoformat(),
            "app": {"id": str(app.id), "name": app.name}, "data": data,
        }, sort_keys=True)
        delivery.save()
        transaction.on_commit(lambda pk=delivery.pk: _queue(pk))


def _queue(delivery_id) -> None:
    from api.tasks import webhook_deliver_task

    try:
        webhook_deliver_task.apply_async((str(delivery_id),), retry=False)
    except Exception as e:  # the queue is down: the periodic retry picks the delivery up
        log.warning("webhook delivery %s not queued now: %s", delivery_id, e)


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_deliver(*, delivery_id: str, now: datetime | None = None) -> str | None:
    """Make one attempt at a delivery that is due; return its new status (None: not due)."""
    now = now or timezone.now()
    lease = now + timedelta(seconds=settings.PIER_WEBHOOK_TIMEOUT + 60)
    with transaction.atomic():
        delivery = (WebhookDelivery.objects.select_for_update().select_related("webhook")
                    .filter(pk=delivery_id, next_attempt_at__lte=now).exclude(status__in=FINAL)
                    .first())
        if delivery is None:
            return None  # delivered already, or another attempt holds it
        delivery.attempts += 1
        delivery.next_attempt_at = lease
        delivery.save(update_fields=["attempts", "next_attempt_at"])
    code, error = _post(delivery)
    delivery.last_status_code, delivery.last_error = code, error[:500]
    if code is not None and 200 <= code < 300:
        delivery.status, delivery.next_attempt_at = WebhookDelivery.Status.SUCCEEDED, None
    else:
        retry_at = now + min(BACKOFF_FIRST * 2 ** (delivery.attempts - 1), BACKOFF_MAX)
        expired = retry_at > delivery.created_at + RETRY_WINDOW
        delivery.status = WebhookDelivery.Status.FAILED if expired else \
            WebhookDelivery.Status.RETRYING
        delivery.next_attempt_at = None if expired else retry_at
    delivery.save(update_fields=["status", "next_attempt_at", "last_status_code", "last_error"])
    return delivery.status


def _post(delivery: WebhookDelivery) -> tuple[int | None, str]:
    """POST the delivery once; return (HTTP status or None, error or "")."""
    hook, body = delivery.webhook, delivery.body.encode()
    headers = {
        "Content-Type": "application/json", "User-Agent": "Pier-Webhooks/1",
        "Pier-Signature": signature(hook.secret, body), "Pier-Event": delivery.event,
        "Pier-Delivery-Id": str(delivery.id), "Pier-Webhook-Id": str(hook.id),
    }
    policy = outbound_policy()
    try:
        with policy.http_client(timeout=settings.PIER_WEBHOOK_TIMEOUT,
                                what="webhook host") as client, \
                client.stream("POST", hook.url, content=body, headers=headers) as response:
            pass  # only the status counts: the body, maybe endless, is never read
    except outbound.Refused as e:
        return None, str(e)
    except Exception as e:  # httpx's errors: timeouts, refused connections, TLS
        return None, f"{type(e).__name__}: {e}"
    error = "" if response.is_success else f"the endpoint answered HTTP {response.status_code}"
    return response.status_code, error


def webhooks_retry_due(*, now: datetime | None = None) -> int:
    """Periodic: queue deliveries whose next attempt is due; return how many.

    Deliveries older than KEEP are deleted: `webhooks:deliveries` shows recent ones only.
    """
    now = now or timezone.now()
    WebhookDelivery.objects.filter(created_at__lt=now - KEEP).delete()
    due = list(WebhookDelivery.objects.exclude(status__in=FINAL)
               .filter(next_attempt_at__lte=now).values_list("pk", flat=True)[:500])
    for pk in due:
        _queue(pk)
    return len(due)
