"""Autoscaling web processes on their p95 response time (`ps:autoscale:enable`).

The controller (:func:`autoscale_tick`, run by the runtime process beside its passes) keeps
no state but the formation rows: it reads the last window of the app's 10 s metrics
buckets, counting only time since its last change (``autoscale_acted_at``), so a restart
loses nothing and each change is judged on what happened after it. Up fast (p95 above the
target for ``up_window``), down slow (below half the target for ``down_window``), one
process at a time, within min/max and the quotas.
"""

import logging
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from api.errors import Invalid
from api.models import App, AutoscaleEvent, Formation
from api.services.formation import formation_limits_check, formation_scale
from logs.events import event_log
from runtime.metrics import MetricsStore, percentile
from runtime.metrics.buckets import merge, new
from runtime.metrics.store import FINEST

log = logging.getLogger(__name__)


def _whole(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise Invalid(f"{name} must be a whole number, like --{name} 2; got {value!r}")
    return int(value)


def autoscale_enable(*, app: App, ptype: str, minimum, maximum, p95_ms, user) -> Formation:
    """Turn autoscaling of ``ptype`` on within [minimum, maximum] for a p95 target in ms."""
    if ptype != "web":
        raise Invalid(f"only web processes autoscale (they follow response times); not {ptype!r}")
    row = app.formation.filter(type=ptype).first()
    if row is None:
        raise Invalid(f"{app.name} has no web processes yet: deploy it with `git push pier main`")
    p95 = _whole(p95_ms, "p95")
    low, high = _whole(minimum, "min"), _whole(maximum, "max")
    if p95 <= 0:
        raise Invalid("--p95 is the target response time in ms and must be above 0, like 500")
    if low < 1:
        raise Invalid("--min must be at least 1: autoscaling never stops an app")
    if low > high:
        raise Invalid(f"--min {low} is above --max {high}: give a min no larger than the max")
    if high > settings.PIER_MAX_PROCESSES_PER_TYPE:
        raise Invalid(f"--max {high} is past {settings.PIER_MAX_PROCESSES_PER_TYPE}, the most "
                      "processes of one type (PIER_MAX_PROCESSES_PER_TYPE)")
    try:
        formation_limits_check(app=app, ptype=ptype, quantity=high)
    except Invalid as e:
        raise Invalid(f"--max {high} is past a quota: at the max, {e.message}") from e
    with transaction.atomic():
        Formation.objects.filter(pk=row.pk).update(
            autoscale_min=low, autoscale_max=high, autoscale_p95_ms=p95,
            autoscale_acted_at=timezone.now(),
        )
        clamped = min(max(row.quantity, low), high)
        if clamped != row.quantity:
            formation_scale(app=app, updates=[{"type": ptype, "quantity": clamped}],
                            autoscaled=f"autoscaling keeps {ptype} within {low}..{high}")
        message = (f"Autoscaling of {ptype} enabled by {user.email}: {low}..{high} processes, "
                   f"p95 target {p95} ms")
        transaction.on_commit(lambda: event_log(app_id=app.id, message=message))
    row.refresh_from_db()
    return row


def autoscale_disable(*, app: App, ptype: str, user) -> Formation:
    """Turn autoscaling of ``ptype`` off; the quantity stays where it is."""
    row = app.formation.filter(type=ptype).first()
    if row is None or not row.autoscaling:
        raise Invalid(f"{ptype} of {app.name} is not autoscaling")
    row.autoscale_min = row.autoscale_max = row.autoscale_p95_ms = None
    row.save(update_fields=["autoscale_min", "autoscale_max", "autoscale_p95_ms", "updated_at"])
    event_log(app_id=app.id, message=f"Autoscaling of {ptype} disabled by {user.email}")
    return row


def autoscale_decide(*, series: list[dict], quantity: int, row: Formation, now: float,
                     since: float, up_window: int, down_window: int) -> tuple[int, str]:
    """Return ``(new quantity, why)`` from 10 s buckets; the same quantity when nothing is due.

    Only complete buckets that started at or after ``since`` count, and a window is judged
    only once that much time has passed since ``since``.
    """
    target = row.autoscale_p95_ms

    def p95_over(window: int) -> tuple[float | None, int]:
        total = new(0)
        for bucket in series:
            if bucket["t"] >= max(since, now - window) and bucket["t"] + FINEST <= now:
                merge(total, bucket)
        return percentile(total["h"], 0.95), total["n"]

    if quantity < row.autoscale_max and now - since >= up_window:
        p95, requests = p95_over(up_window)
        if p95 is not None and p95 > target:
            return quantity + 1, (f"p95 {p95:.0f} ms over {requests} requests in {up_window} s "
                                  f"is above the {target} ms target")
    if quantity > row.autoscale_min and now - since >= down_window:
        p95, requests = p95_over(down_window)
        if p95 is None or p95 < target / 2:
            seen = f"p95 {p95:.0f} ms" if p95 is not None else "no requests"
            return quantity - 1, (f"{seen} in {down_window} s is under half "
                                  f"the {target} ms target")
    return quantity, ""


def autoscale_tick(*, store: MetricsStore, now: datetime | None = None,
                   up_window: int | None = None, down_window: int | None = None) -> list[str]:
    """Scale every autoscaling formation that is due; return what was done, for the log."""
    now = now or timezone.now()
    up_window = up_window or settings.PIER_AUTOSCALE_UP_SECONDS
    down_window = down_window or settings.PIER_AUTOSCALE_DOWN_SECONDS
    done = []
    rows = Formation.objects.filter(autoscale_p95_ms__isnull=False).select_related("app__owner")
    for row in rows:
        epoch, since = now.timestamp(), row.autoscale_acted_at.timestamp()
        _, series = store.read(str(row.app_id), start=epoch - max(up_window, down_window),
                               end=epoch, step=FINEST)
        quantity, why = autoscale_decide(series=series, quantity=row.quantity, row=row,
                                         now=epoch, since=since, up_window=up_window,
                                         down_window=down_window)
        if quantity != row.quantity:
            done.append(_autoscale_apply(row=row, quantity=quantity, why=why, now=now))
    return done


def _autoscale_apply(*, row: Formation, quantity: int, why: str, now: datetime) -> str:
    app, verb = row.app, "up" if quantity > row.quantity else "down"
    Formation.objects.filter(pk=row.pk).update(autoscale_acted_at=now)
    reason = f"autoscaled {verb} from {row.quantity} ({why})"
    try:
        formation_scale(app=app, updates=[{"type": row.type, "quantity": quantity}],
                        autoscaled=reason)
    except Invalid as e:  # a quota reached meanwhile: say so, try again after a window
        message = f"Autoscaling could not scale {row.type} to {quantity}: {e.message}"
        event_log(app_id=app.id, message=message)
        return f"{app.name}: {message}"
    AutoscaleEvent.objects.create(app=app, type=row.type, quantity_from=row.quantity,
                                  quantity_to=quantity, reason=why[:300])
    return f"{app.name}: {row.type} {reason}"
