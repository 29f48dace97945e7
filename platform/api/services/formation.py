from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from api.errors import Invalid
from api.models import App, Formation
from api.nudge import runtime_nudge_on_commit
from api.quotas import owner_lock, usage_quota_check
from api.selectors import process_types_current
from api.services.webhooks import webhook_event
from api.validation import validate_quantity, validate_size
from logs.events import event_log


def formation_scale(
    *, app: App, updates: list[dict], user=None, autoscaled: str | None = None
) -> list[Formation]:
    """Apply a batch of {type, quantity?, size?} updates: all of them, or none on any error.

    A quantity set by hand turns autoscaling of that type off (as on Heroku); the
    autoscaler passes ``autoscaled``, the reason it logs instead of who scaled.
    """
    if not isinstance(updates, list) or not updates:
        raise Invalid('updates must be a non-empty list like [{"type": "web", "quantity": 2}]')
    known = process_types_current(app=app)
    if not known:
        raise Invalid(f"{app.name} has no process types yet: deploy it with `git push pier main`")
    with transaction.atomic():
        App.objects.select_for_update().filter(pk=app.pk).first()
        owner_lock(user=app.owner)
        for update in updates:
            _formation_apply(app=app, update=update, known=known, by_hand=not autoscaled)
        _host_limit_check()
        usage_quota_check(owner=app.owner)
        rows = list(app.formation.filter(type__in=known))
        shape = ", ".join(f"{r.type}={r.quantity}:{r.size}" for r in rows)
        who = f": {autoscaled}" if autoscaled else (f" by {user.email}" if user else "")
        transaction.on_commit(lambda: event_log(app_id=app.id, message=f"Scale to {shape}{who}"))
        formation = [{"type": r.type, "quantity": r.quantity, "size": r.size} for r in rows]
        webhook_event(app=app, event="dyno", action="scaled", data={"formation": formation})
        runtime_nudge_on_commit()
    return rows


def formation_limits_check(*, app: App, ptype: str, quantity: int) -> None:
    """Raise Invalid when ``ptype`` at ``quantity`` would pass a quota; change nothing."""

    class _Undo(Exception):
        pass

    try:
        with transaction.atomic():
            owner_lock(user=app.owner)
            Formation.objects.filter(app=app, type=ptype).update(quantity=quantity)
            _host_limit_check()
            usage_quota_check(owner=app.owner)
            raise _Undo
    except _Undo:
        pass


def _host_limit_check() -> None:
    """Refuse a formation the host cannot run (inside the transaction: nothing is saved)."""
    total = Formation.objects.aggregate(n=Sum("quantity"))["n"] or 0
    limit = settings.PIER_MAX_PROCESSES
    if total > limit:
        raise Invalid(
            f"this Pier host runs at most {limit} processes and this would make {total}: "
            "scale something down first, or raise PIER_MAX_PROCESSES"
        )


def _formation_apply(*, app: App, update: dict, known: dict, by_hand: bool) -> None:
    if not isinstance(update, dict) or "type" not in update:
        raise Invalid('each update needs a "type", like {"type": "web", "quantity": 2}')
    ptype = update["type"]
    if ptype not in known:
        raise Invalid(
            f"no process type {ptype!r} in {app.name}'s Procfile; known: {', '.join(sorted(known))}"
        )
    if "quantity" not in update and "size" not in update:
        raise Invalid(f"update for {ptype!r} needs a quantity or a size")
    row, _ = Formation.objects.get_or_create(app=app, type=ptype)
    if "quantity" in update:
        before = row.quantity
        row.quantity = validate_quantity(update["quantity"], settings.PIER_MAX_PROCESSES_PER_TYPE)
        if by_hand and row.autoscaling and row.quantity != before:
            row.autoscale_min = row.autoscale_max = row.autoscale_p95_ms = None
            message = f"Autoscaling of {ptype} disabled: its quantity was set by hand"
            transaction.on_commit(lambda: event_log(app_id=app.id, message=message))
    if "size" in update:
        row.size = validate_size(update["size"]).name
    row.save()


def formation_restart(*, app: App, target: str | None) -> str:
    """Ask the runtime to replace processes (all, a type, or TYPE.N); return what was asked."""
    known = process_types_current(app=app)
    ptype, _, index = (target or "").partition(".")
    if target and (ptype not in known or (index and not index.isdigit())):
        types = ", ".join(sorted(known)) or "none"
        raise Invalid(f"no process {target!r} in {app.name}; use a type ({types}) or TYPE.N")
    rows = app.formation.filter(type=ptype) if target else app.formation.all()
    now = timezone.now()
    if index:
        for row in rows:
            row.process_restarts = {**row.process_restarts, index: now.isoformat()}
            row.save(update_fields=["process_restarts"])
    else:
        rows.update(restarted_at=now)
    runtime_nudge_on_commit()
    message = f"restarting {target or 'all processes'} of {app.name}"
    event_log(app_id=app.id, message=message[0].upper() + message[1:])
    return message
