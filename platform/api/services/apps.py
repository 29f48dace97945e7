import secrets

from django.db import IntegrityError, transaction

from api.errors import Conflict, Forbidden, Invalid
from api.models import App, Config
from api.nudge import runtime_nudge_on_commit
from api.quotas import apps_quota_check, owner_lock
from api.selectors import app_get
from api.services.releases import release_create
from api.validation import validate_app_name

_ADJECTIVES = (
    "amber brave calm dapper eager fancy gentle hidden icy jolly keen lively mellow "
    "nimble polar quiet rapid shiny sunny tidy vivid witty young zesty"
).split()
_NOUNS = (
    "anchor beacon canal delta ferry harbor island jetty kayak lagoon marina oar "
    "pier quay reef sail tide vessel wharf yacht"
).split()


def app_random_name() -> str:
    return (
        f"{secrets.choice(_ADJECTIVES)}-{secrets.choice(_NOUNS)}-{secrets.randbelow(9000) + 1000}"
    )


@transaction.atomic
def app_create(*, user, name: str | None = None) -> App:
    """Create an app with an empty config and release v1, as Heroku does."""
    if name is None or name == "":
        name = app_random_name()
        while App.objects.filter(name=name).exists():
            name = app_random_name()
    validate_app_name(name)
    if App.objects.filter(name=name).exists():
        raise Conflict(f"app name {name!r} is already taken: choose another")
    owner_lock(user=user)
    apps_quota_check(user=user)
    try:
        with transaction.atomic():
            app = App.objects.create(name=name, owner=user)
    except IntegrityError:
        raise Conflict(f"app name {name!r} is already taken: choose another") from None
    config = Config.objects.create(app=app, values={}, creator=user)
    release_create(app=app, build=None, config=config, description="Initial release", user=user)
    return app


def _require_owner(*, app: App, user, action: str) -> None:
    if app.owner_id != user.pk:
        raise Forbidden(f"only the owner ({app.owner.email}) can {action} {app.name}")


@transaction.atomic
def app_update(
    *,
    user,
    name: str,
    new_name: str | None = None,
    maintenance: bool | None = None,
    deploy_branch: str | None = None,
) -> App:
    app = app_get(user=user, name=name, for_update=True)
    if new_name is not None and new_name != app.name:
        _require_owner(app=app, user=user, action="rename")
        validate_app_name(new_name)
        if App.objects.filter(name=new_name).exists():
            raise Conflict(f"app name {new_name!r} is already taken: choose another")
        app.name = new_name
    if maintenance is not None:
        if not isinstance(maintenance, bool):
            raise Invalid("maintenance must be true or false")
        app.maintenance = maintenance
    if deploy_branch is not None:
        if deploy_branch not in ("main", "master"):
            raise Invalid("deploy_branch must be 'main' or 'master'")
        app.deploy_branch = deploy_branch
    app.save()
    runtime_nudge_on_commit()
    return app


@transaction.atomic
def app_destroy(*, user, name: str) -> None:
    app = app_get(user=user, name=name, for_update=True)
    _require_owner(app=app, user=user, action="destroy")
    # Releases point at builds and configs with PROTECT; drop them first.
    app.releases.all().delete()
    app.delete()
    runtime_nudge_on_commit()  # the runtime stops the processes of apps that are gone
