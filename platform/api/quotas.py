"""Per-user and per-app quotas: what one user may take from a Pier shared with others.

Each check runs inside the transaction that would exceed it, after the change is applied,
so that a refusal saves nothing. A user's apps are the apps they own: collaborators use
the owner's quota, as on Heroku.
"""


from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count

from addons.services.base import PLANS
from api.errors import Invalid
from api.models import Addon, App, Formation
from api.validation import DYNO_SIZES


def owner_lock(*, user) -> None:
    """Serialize quota checks of one user: two requests must not both take the last unit."""
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()


def apps_quota_check(*, user) -> None:
    """Refuse a new app past PIER_MAX_APPS_PER_USER (call before creating it)."""
    owned = App.objects.filter(owner=user).aggregate(n=Count("pk"))["n"]
    limit = settings.PIER_MAX_APPS_PER_USER
    if owned >= limit:
        raise Invalid(
            f"you own {owned} apps, the most one user may own here (PIER_MAX_APPS_PER_USER="
            f"{limit}): destroy one you no longer need (`pier apps:destroy`), or ask the operator"
        )


def _addons_memory_mb(*, owner) -> int:
    """Memory of the owner's add-ons that run in containers on Pier's own machines."""
    plans = Addon.objects.filter(
        app__owner=owner, provider=Addon.Provider.CONTAINER
    ).exclude(state__in=(Addon.State.FAILED, Addon.State.DESTROYED)).values_list("plan", flat=True)
    return sum(PLANS[plan].memory_mb for plan in plans if plan in PLANS)


def usage_quota_check(*, owner) -> None:
    """Refuse a formation or add-on past the owner's process and memory quotas.

    Memory counts the processes of all their apps by size and their container add-ons by
    plan: an add-on takes the machine's memory as a process does.
    """
    rows = Formation.objects.filter(app__owner=owner, quantity__gt=0).values_list(
        "quantity", "size"
    )
    processes = sum(q for q, _ in rows)
    memory = sum(q * DYNO_SIZES.get(s, DYNO_SIZES["standard"]).memory_mb for q, s in rows)
    memory += _addons_memory_mb(owner=owner)
    s = settings
    if processes > s.PIER_MAX_PROCESSES_PER_USER:
        raise Invalid(
            f"this would make {processes} processes across the apps of {owner.email}, and one "
            f"user may run {s.PIER_MAX_PROCESSES_PER_USER} (PIER_MAX_PROCESSES_PER_USER): "
            "scale something down first"
        )
    if memory > s.PIER_MAX_MEMORY_MB_PER_USER:
        raise Invalid(
            f"this would make {memory} MB of memory (processes and add-ons) across the apps of "
            f"{owner.email}, and one user may have {s.PIER_MAX_MEMORY_MB_PER_USER} MB "
            "(PIER_MAX_MEMORY_MB_PER_USER): scale down, use smaller sizes or plans, or destroy "
            "an add-on you no longer need first"
        )


def config_size_check(*, app: App, values: dict[str, str]) -> None:
    """Refuse config vars whose names and values together pass PIER_MAX_CONFIG_BYTES."""
    size = sum(len(k.encode()) + len(v.encode()) for k, v in values.items())
    limit = settings.PIER_MAX_CONFIG_BYTES
    if size > limit:
        raise Invalid(
            f"{app.name}'s config vars would take {size} bytes (names and values), more than the "
            f"{limit} an app may have (PIER_MAX_CONFIG_BYTES): keep large data in a file or "
            "a backing service, and put its URL in a config var"
        )
