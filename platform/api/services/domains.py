from django.conf import settings
from django.db import IntegrityError, transaction

from api.errors import Conflict, Invalid, NotFound
from api.models import App, Domain
from api.nudge import runtime_nudge_on_commit
from api.validation import validate_hostname


def domain_add(*, app: App, hostname: str) -> Domain:
    host = validate_hostname(hostname)
    if host == settings.PIER_DOMAIN or host.endswith("." + settings.PIER_DOMAIN):
        raise Invalid(f"{host} is under Pier's own domain {settings.PIER_DOMAIN}; add another")
    try:
        with transaction.atomic():
            domain = Domain.objects.create(app=app, hostname=host)
            runtime_nudge_on_commit()
            return domain
    except IntegrityError:
        raise Conflict(f"domain {host} is already in use by an app") from None


def domain_remove(*, app: App, hostname: str) -> None:
    deleted, _ = app.domains.filter(hostname=(hostname or "").strip().lower().rstrip(".")).delete()
    runtime_nudge_on_commit()
    if not deleted:
        raise NotFound(f"domain {hostname!r} is not attached to {app.name}: see `pier domains`")
