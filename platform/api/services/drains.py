from django.db import IntegrityError, transaction

from api.errors import Conflict, Invalid, NotFound
from api.models import App, Drain
from pier.runtime_config import outbound_policy
from runtime import outbound
from runtime.drains import check_destination, validate_drain_url


def drain_add(*, app: App, url: str) -> Drain:
    try:
        url = validate_drain_url(url if isinstance(url, str) else "")
    except ValueError as e:
        raise Invalid(f"invalid drain URL: {e}") from None
    try:
        # Checked again at every connect: the name may point elsewhere later.
        check_destination(url, outbound_policy())
    except (outbound.Refused, outbound.Unresolved) as e:
        raise Invalid(str(e)) from None
    try:
        with transaction.atomic():
            return Drain.objects.create(app=app, url=url)
    except IntegrityError:
        raise Conflict(f"{app.name} already drains to {url}") from None


def drain_remove(*, app: App, url: str) -> None:
    deleted, _ = app.drains.filter(url=url).delete()
    if not deleted:
        raise NotFound(f"{app.name} has no drain {url}: see `pier drains`")


def drains_by_app() -> dict[str, list[str]]:
    """Return every app's drain URLs by app id, for the runtime's drain delivery."""
    result: dict[str, list[str]] = {}
    for app_id, url in Drain.objects.values_list("app_id", "url"):
        result.setdefault(str(app_id), []).append(url)
    return result
