from urllib.parse import urlparse

from django.conf import settings
from django.db import IntegrityError, transaction

from api.errors import Conflict, Invalid, NotFound
from api.models import App, Domain
from api.nudge import runtime_nudge_on_commit
from api.services.webhooks import webhook_event
from api.validation import validate_hostname

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def domain_add(*, app: App, hostname: str) -> Domain:
    host = validate_hostname(hostname)
    _refuse_reserved(app=app, host=host)
    try:
        with transaction.atomic():
            domain = Domain.objects.create(app=app, hostname=host)
            webhook_event(app=app, event="api:domain", action="created", data={"hostname": host})
            runtime_nudge_on_commit()
            return domain
    except IntegrityError:
        raise Conflict(
            f"domain {host} is already attached to another app: a domain belongs to one app "
            "at a time; remove it there first (`pier domains:remove`)"
        ) from None


def _refuse_reserved(*, app: App, host: str) -> None:
    """Refuse the control plane's own names and names under Pier's domain (other apps')."""
    if _matches_any(host, _control_plane_hosts()):
        raise Invalid(
            f"{host} is a host name of this Pier's control plane and cannot route to an app"
        )
    base = settings.PIER_DOMAIN.lower().rstrip(".")
    if host == base or host.endswith("." + base):
        raise Invalid(
            f"{host} is under Pier's own domain {base}, where every app gets its name "
            f"({app.name} is already served at {app.name}.{base}); add a domain you own instead"
        )


def _control_plane_hosts() -> list[str]:
    api_host = urlparse(settings.PIER_API_URL).hostname or ""
    return [api_host, *settings.ALLOWED_HOSTS, *LOOPBACK_NAMES]


def _matches_any(host: str, patterns: list[str]) -> bool:
    """Match like Django's ALLOWED_HOSTS: ".example.com" is the domain and all under it."""
    for pattern in (p.lower().strip("[]") for p in patterns if p and p != "*"):
        if host == pattern.lstrip(".") or (pattern.startswith(".") and host.endswith(pattern)):
            return True
    return False


def domain_remove(*, app: App, hostname: str) -> None:
    host = (hostname or "").strip().lower().rstrip(".")
    with transaction.atomic():
        deleted, _ = app.domains.filter(hostname=host).delete()
        if deleted:
            webhook_event(app=app, event="api:domain", action="destroyed",
                          data={"hostname": host})
    runtime_nudge_on_commit()
    if not deleted:
        raise NotFound(f"domain {hostname!r} is not attached to {app.name}: see `pier domains`")
