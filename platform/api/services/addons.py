"""Add-ons: create, attach, detach, destroy, rotate credentials (business rules only).

An attachment is a config var (``DATABASE_URL``, ``<ALIAS>_URL``) set through a normal
release, so the app restarts with it; the runtime joins the app's processes to the
add-on's network. Data is never removed without the app's name as confirmation, and a
PostgreSQL add-on keeps a final backup when destroyed.
"""

import logging
import random
import re

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

from addons.container import ContainerProvider
from addons.errors import ProviderError
from addons.server import ServerProvider
from addons.services import services
from addons.services.base import DEFAULT_PLAN, PLANS
from api.errors import Conflict, Invalid, NotFound, PierError
from api.models import Addon, AddonAttachment, App
from api.nudge import runtime_nudge_on_commit
from api.quotas import owner_lock, usage_quota_check
from api.selectors import apps_for_user, config_current
from api.services.config import config_update

log = logging.getLogger(__name__)

ALIAS_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,55}$")
ADJECTIVES = ("amber", "brisk", "calm", "curved", "deep", "eager", "fair", "gentle", "keen",
              "lucid", "mellow", "quiet", "rapid", "shiny", "solid", "sunny", "swift", "tidy")


class AddonUnavailable(PierError):
    status = 503
    id = "addon_unavailable"


def provider_for(addon: Addon):
    if addon.provider == Addon.Provider.SERVER:
        return ServerProvider(settings.PIER_ADDONS_POSTGRESQL_SERVER)
    return ContainerProvider()


def addons_visible(*, user) -> QuerySet[Addon]:
    """Add-ons of, or attached to, an app the user may see (destroyed ones excluded)."""
    apps = apps_for_user(user=user).values("pk")
    return (Addon.objects.filter(Q(app__in=apps) | Q(attachments__app__in=apps))
            .exclude(state=Addon.State.DESTROYED).distinct())


def addon_get(*, user, name: str) -> Addon:
    addon = addons_visible(user=user).filter(name=name).first()
    if addon is None:
        raise NotFound(f"add-on {name!r} not found (or you have no access to it): "
                       "see `pier addons -a APP`")
    return addon


def _service(name):
    offered = services()
    if name not in offered:
        raise Invalid(f"unknown add-on service {name!r}: use one of {', '.join(sorted(offered))}")
    return offered[name]


def _plan(name) -> str:
    name = name or DEFAULT_PLAN
    if name not in PLANS:
        raise Invalid(f"unknown plan {name!r}: use one of {', '.join(PLANS)} "
                      "(see the README's add-ons section)")
    return name


def _alias(alias, default: str) -> str:
    """Return the attachment name: DATABASE for DATABASE_URL; an alias may end in _URL."""
    name = (alias or default).strip().upper()
    name = name[:-4] if name.endswith("_URL") else name
    if not ALIAS_RE.match(name):
        raise Invalid(f"invalid add-on alias {alias!r}: use letters, digits and underscores, "
                      "starting with a letter (e.g. REPORTING_DATABASE)")
    return name


def _free_name(service: str) -> str:
    for _ in range(20):
        name = f"{service}-{random.choice(ADJECTIVES)}-{random.randint(10000, 99999)}"
        if not Addon.objects.filter(name=name).exists():
            return name
    raise Conflict("could not find a free add-on name; try again")


def addon_create(*, app: App, user, service: str, plan: str | None = None,
                 alias: str | None = None) -> Addon:
    """Record an add-on of app and queue its provisioning on the worker (``addon_provision``).

    Its attachment is made at once, so its config var's name is taken; the var itself is
    set by a release once the add-on is available. Return the add-on as it is now.
    """
    from api.tasks import addon_provision_task  # the task module imports this one

    kind = _service(service)
    plan = _plan(plan)
    name = _alias(alias, kind.attachment)
    _check_alias_free(app=app, name=name)
    server = kind.name == "postgresql" and settings.PIER_ADDONS_POSTGRESQL_SERVER
    provider_kind = Addon.Provider.SERVER if server else Addon.Provider.CONTAINER
    addon = Addon(name=_free_name(kind.name), service=kind.name, plan=plan, app=app,
                  provider=provider_kind)
    addon.credentials = provider_for(addon).credentials(kind)
    with transaction.atomic():
        owner_lock(user=app.owner)
        addon.save()
        usage_quota_check(owner=app.owner)
        _attachment_create(addon=addon, app=app, name=name)
        transaction.on_commit(lambda: addon_provision_task.delay(str(addon.pk), user.pk))
    addon.refresh_from_db()
    return addon


def addon_provision(*, addon_id, user_id) -> Addon:
    """Start the add-on (the worker's part of addons:create), then set its config vars.

    A failure leaves it ``failed`` with its error, and nothing of it running.
    """
    addon = Addon.objects.get(pk=addon_id)
    if addon.state != Addon.State.PROVISIONING:  # a task delivered twice
        return addon
    provider = provider_for(addon)
    try:
        provider.provision(addon)
    except ProviderError as e:
        log.warning("add-on %s not provisioned: %s", addon.name, e)
        _provider_destroy_quietly(addon=addon, provider=provider)
        Addon.objects.filter(pk=addon.pk, state=Addon.State.PROVISIONING).update(
            state=Addon.State.FAILED, last_error=f"could not provision {addon.name}: {e}")
        addon.refresh_from_db()
        return addon
    user = get_user_model().objects.filter(pk=user_id).first()
    with transaction.atomic():
        made = Addon.objects.filter(pk=addon.pk, state=Addon.State.PROVISIONING).update(
            state=Addon.State.AVAILABLE)
        for row in addon.attachments.select_related("app") if made else ():
            config_update(app=row.app, user=user, changes={row.config_var: provider.url(addon)},
                          description=f"Attach {addon.name} ({row.config_var})")
    if not made:  # destroyed while it was being made
        _provider_destroy_quietly(addon=addon, provider=provider)
    addon.refresh_from_db()
    return addon


def _provider_destroy_quietly(*, addon: Addon, provider) -> None:
    """Remove what provisioning made (there is no data yet)."""
    try:
        provider.destroy(addon)
    except ProviderError as e:
        log.warning("add-on %s not cleaned up: %s", addon.name, e)


def _check_alias_free(*, app: App, name: str) -> None:
    var = f"{name}_URL"
    if app.addon_attachments.filter(name=name).exists() or var in config_current(app=app).values:
        raise Conflict(f"{var} is already set on {app.name}: choose another name with "
                       "--as ALIAS, or detach / unset it first")


def _attachment_create(*, addon: Addon, app: App, name: str) -> AddonAttachment:
    try:
        with transaction.atomic():
            return AddonAttachment.objects.create(addon=addon, app=app, name=name)
    except IntegrityError as e:
        raise Conflict(f"{name}_URL is already an attachment of {app.name}") from e


def _attach(*, addon: Addon, app: App, name: str, user) -> AddonAttachment:
    with transaction.atomic():
        row = _attachment_create(addon=addon, app=app, name=name)
        config_update(app=app, user=user, changes={row.config_var: provider_for(addon).url(addon)},
                      description=f"Attach {addon.name} ({row.config_var})")
    return row


def addon_attach(*, app: App, user, name: str, alias: str | None = None) -> AddonAttachment:
    """Attach an add-on the user can see to another app (one database, two apps)."""
    addon = addon_get(user=user, name=name)
    if addon.state != Addon.State.AVAILABLE:
        raise Conflict(f"{addon.name} is {addon.state}: it cannot be attached")
    attachment = _alias(alias, services()[addon.service].attachment)
    _check_alias_free(app=app, name=attachment)
    return _attach(addon=addon, app=app, name=attachment, user=user)


def _detach(*, row: AddonAttachment, user) -> None:
    with transaction.atomic():
        config_update(app=row.app, user=user, changes={row.config_var: None},
                      description=f"Detach {row.addon.name} ({row.config_var})")
        row.delete()
        runtime_nudge_on_commit()


def addon_detach(*, app: App, user, name: str) -> None:
    """Detach by attachment name (REPORTING_DATABASE) or add-on name."""
    rows = app.addon_attachments.select_related("addon", "app")
    row = rows.filter(addon__name=name).first()
    if row is None:
        row = rows.filter(name=name.strip().upper().removesuffix("_URL")).first()
    if row is None:
        raise NotFound(f"{name!r} is not attached to {app.name}: see `pier addons -a {app.name}`")
    _detach(row=row, user=user)


def addon_destroy(*, app: App, user, name: str, confirm: str | None) -> Addon:
    """Destroy an add-on of app: keep a final backup, then remove its data."""
    addon = addon_get(user=user, name=name)
    if addon.app_id != app.id:
        raise Conflict(f"{addon.name} belongs to another app: destroy it from there, or "
                       f"detach it from {app.name} with `pier addons:detach`")
    if confirm != app.name:
        raise Invalid(f"destroying {addon.name} removes its data: run it again with "
                      f"--confirm {app.name}")
    if addon.state == Addon.State.RESTORING:
        raise Conflict(f"{addon.name} is restoring a backup: destroy it once that is done")
    elsewhere = sorted(addon.attachments.exclude(app=app).values_list("app__name", flat=True))
    if elsewhere:
        raise Conflict(f"{addon.name} is still attached to {', '.join(elsewhere)}: detach it "
                       "there first (`pier addons:detach`)")
    from api.services.addon_backups import backup_final  # backups need this module's helpers

    has_data = addon.state == Addon.State.AVAILABLE  # not one still being made, or failed
    if has_data:
        backup_final(addon=addon)
    for row in addon.attachments.select_related("addon", "app"):
        _detach(row=row, user=user)
    if has_data:
        try:
            provider_for(addon).destroy(addon)
        except ProviderError as e:
            raise AddonUnavailable(f"could not destroy {addon.name}: {e}") from e
    else:  # a failed one's leftovers were removed when it failed; a new one's, by its task
        _provider_destroy_quietly(addon=addon, provider=provider_for(addon))
    Addon.objects.filter(pk=addon.pk).update(state=Addon.State.DESTROYED)
    addon.refresh_from_db()
    return addon


def addon_credentials_rotate(*, addon: Addon, user) -> Addon:
    """Set a new password; every attached app gets the new URL through a release."""
    addon_check_available(addon)
    provider = provider_for(addon)
    addon.credentials = {**addon.credentials,
                         "password": services()[addon.service].credentials()["password"]}
    try:
        provider.rotate(addon)
    except ProviderError as e:
        raise AddonUnavailable(f"could not rotate the credentials of {addon.name}: {e}") from e
    addon.save(update_fields=["credentials"])
    for row in addon.attachments.select_related("app"):
        config_update(app=row.app, user=user, changes={row.config_var: provider.url(addon)},
                      description=f"Rotate the credentials of {addon.name} ({row.config_var})")
    return addon


def addon_check_available(addon: Addon) -> None:
    if addon.state != Addon.State.AVAILABLE:
        raise Conflict(f"{addon.name} is {addon.state}: try again once it is available "
                       f"(see `pier addons:info {addon.name}`)")


def addon_info(*, addon: Addon) -> list[str]:
    """Return version, size, connections, tables of a PostgreSQL add-on, read live."""
    if addon.service != "postgresql":
        raise Invalid(f"{addon.name} is not a PostgreSQL add-on")
    try:
        return provider_for(addon).query_info(addon)
    except ProviderError as e:
        raise AddonUnavailable(f"could not read {addon.name}: {e}") from e


def addon_for_app(*, app: App, service: str, name: str | None = None) -> Addon:
    """The add-on a `pg:` or `redis:` command means: by name, else the app's only one."""
    rows = app.addon_attachments.filter(addon__service=service).select_related("addon")
    if name:
        row = rows.filter(Q(addon__name=name) | Q(name=name.upper())).first()
    else:
        found = {row.addon.pk: row for row in rows}
        if len(found) > 1:
            names = ", ".join(sorted(row.addon.name for row in found.values()))
            raise Invalid(f"{app.name} has several {service} add-ons ({names}): name one")
        row = next(iter(found.values()), None)
    if row is None:
        raise NotFound(f"{app.name} has no {service} add-on"
                       + (f" {name!r}" if name else "") + f": see `pier addons -a {app.name}`")
    return row.addon
