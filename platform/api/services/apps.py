"""Apps: create, rename, destroy.

Whatever an app has outside its database rows (processes, images, build cache, git repo,
log streams, drain positions, process statuses) is keyed by ``App.id``, never the name:
a rename keeps all of it without touching it, and a destroyed app's name can be taken by
someone else who must find none of it. Destroying deletes the rows at once (access ends
with the request) and leaves the rest to :func:`app_purge`, a retried Celery task.
"""

import logging
import secrets
import shutil

from django.conf import settings
from django.db import IntegrityError, transaction
from kombu.exceptions import OperationalError

from api import dyno_status
from api.errors import Conflict, Forbidden, Invalid
from api.models import Addon, App, Config
from api.nudge import runtime_nudge_on_commit
from api.quotas import apps_quota_check, owner_lock
from api.selectors import app_get
from api.services.addons import addon_destroy
from api.services.releases import release_create
from api.validation import validate_app_name
from builds import images, logstream
from builds.paths import build_dir_for
from gitpush.repos import repo_path
from pier.redis import get_redis
from pier.runtime_config import runtime_backend
from registry.repositories import (
    repository_destroy,
    repository_name_check,
    repository_rename,
)
from runtime import applog
from runtime.drains import positions_forget
from runtime.metrics import MetricsStore

log = logging.getLogger(__name__)

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
    _validate_name(name)
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
        _validate_name(new_name)
        if App.objects.filter(name=new_name).exists():
            raise Conflict(f"app name {new_name!r} is already taken: choose another")
        repository_rename(app=app, old=app.name, new=new_name)
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


def _validate_name(name: str) -> None:
    validate_app_name(name)
    repository_name_check(name=name)
    # The app's default host would be the control plane's: the router sends that host to
    # the control plane, but ACME would issue the app a certificate for it.
    if settings.PIER_API_HOST and f"{name}.{settings.PIER_DOMAIN}" == settings.PIER_API_HOST:
        raise Invalid(f"{name!r} is taken by the control plane ({settings.PIER_API_HOST}): "
                      "choose another name")


@transaction.atomic
def app_destroy(*, user, name: str) -> None:
    """Delete the app's rows (collaborators, domains, drains...) and schedule the rest."""
    app = app_get(user=user, name=name, for_update=True)
    _require_owner(app=app, user=user, action="destroy")
    _addons_destroy(app=app, user=user)
    app_id = str(app.id)
    build_ids = [str(pk) for pk in app.builds.values_list("pk", flat=True)]
    # Releases point at builds and configs with PROTECT; drop them first.
    app.releases.all().delete()
    # At once, not in the purge: the name is free from now on, its images must not be.
    repository_destroy(name=app.name)
    app.delete()
    runtime_nudge_on_commit()  # the runtime stops the processes of apps that are gone
    transaction.on_commit(lambda: _purge_later(app_id=app_id, build_ids=build_ids))


def _addons_destroy(*, app: App, user) -> None:
    """Destroy the add-ons made for app, each keeping a final backup, as Heroku does.

    Refused, before anything is removed, while one of them serves another app too.
    """
    owned = list(app.addons.exclude(state=Addon.State.DESTROYED))
    for addon in owned:
        elsewhere = sorted(addon.attachments.exclude(app=app).values_list("app__name", flat=True))
        if elsewhere:
            raise Conflict(
                f"{app.name}'s add-on {addon.name} is still attached to {', '.join(elsewhere)}: "
                f"detach it there first (`pier addons:detach {addon.name} -a {elsewhere[0]}`)"
            )
    for addon in owned:
        addon_destroy(app=app, user=user, name=addon.name, confirm=app.name)


def _purge_later(*, app_id: str, build_ids: list[str]) -> None:
    from api.tasks import app_purge_task  # the task module imports this one

    try:
        app_purge_task.delay(app_id, build_ids)
    except OperationalError as e:  # the app is gone all the same: say what is left behind
        log.error("could not queue the purge of destroyed app %s (%s): its images, cache "
                  "and log stream stay until app_purge(app_id=%r, ...) runs", app_id, e, app_id)


class PurgePending(Exception):
    """The destroyed app's processes still run (the runtime is stopping them): retry later."""


def app_purge(*, app_id: str, build_ids: list[str]) -> None:
    """Remove what a destroyed app leaves outside the database; safe to run again.

    Waits for the runtime to have stopped its processes first: until then they use the
    images and write to the log stream.
    """
    left = runtime_backend().list_processes(app=app_id)
    if left:
        raise PurgePending(f"app {app_id}: {len(left)} processes not stopped yet")
    images.purge(app_id=app_id)
    client = get_redis()
    client.delete(applog.stream_key(app_id),
                  *(logstream.stream_key(build_id) for build_id in build_ids))
    positions_forget(client, app_id)
    MetricsStore(client).forget(app_id)
    dyno_status.statuses_write(app=app_id, statuses={})
    shutil.rmtree(repo_path(app_id), ignore_errors=True)
    for build_id in build_ids:
        shutil.rmtree(build_dir_for(build_id), ignore_errors=True)
