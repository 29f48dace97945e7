import re

from django.db import transaction
from django.db.models import Max

from api.errors import Invalid, NotFound
from api.models import App, Build, Config, Formation, Release
from api.nudge import runtime_nudge_on_commit
from api.quotas import owner_lock, usage_quota_check
from api.services.cron import cron_sync
from api.services.webhooks import webhook_event
from api.validation import DEFAULT_DYNO_SIZE
from logs.events import event_log

VERSION_RE = re.compile(r"^v?(\d+)$")


def parse_version(version) -> int:
    match = VERSION_RE.match(str(version).strip())
    if not match:
        raise Invalid(f"invalid release version {version!r}: use a form like v3")
    return int(match.group(1))


def release_version_next(*, app: App) -> int:
    """Return the version the app's next release takes, read under a row lock on the app.

    Inside release_create's transaction it is the version; outside, a forecast (the
    release phase's label) that a release created meanwhile can overtake.
    """
    with transaction.atomic():
        App.objects.select_for_update().filter(pk=app.pk).first()
        return (app.releases.aggregate(v=Max("version"))["v"] or 0) + 1


def release_create(
    *,
    app: App,
    build: Build | None,
    config: Config,
    description: str,
    user,
    status: str = Release.Status.SUCCEEDED,
) -> Release:
    """Create the next release of app; the version is assigned under a row lock on the app."""
    with transaction.atomic():
        release = Release.objects.create(
            app=app,
            version=release_version_next(app=app),
            build=build,
            config=config,
            description=description[:500],
            creator=user,
            status=status,
        )
        if build is not None:
            _formation_sync(app=app, build=build)
            cron_sync(app=app, jobs=build.cron)
        release_event(release=release, action="created")
        if status != Release.Status.PENDING:
            release_event(release=release, action=status)
        who = user.email if user else "Pier"
        message = f"Release v{release.version} created by {who}: {release.description}"
        transaction.on_commit(lambda: event_log(app_id=app.id, message=message))
        runtime_nudge_on_commit()
    return release


def release_event(*, release: Release, action: str) -> None:
    """Fire the api:release webhook event (created, succeeded, failed)."""
    data = {"version": release.version, "status": release.status,
            "description": release.description}
    webhook_event(app=release.app, event="api:release", action=action, data=data)


def _formation_sync(*, app: App, build: Build) -> None:
    """Add rows for new process types.

    The first deploy scales web to 1 and nothing else, as Heroku does, unless app.json's
    formation says otherwise.
    """
    existing = set(app.formation.values_list("type", flat=True))
    first_deploy = not existing
    if first_deploy:
        owner_lock(user=app.owner)
    for ptype in build.process_types:
        if ptype in existing:
            continue
        wanted = build.formation_defaults.get(ptype, {}) if first_deploy else {}
        quantity = wanted.get("quantity", 1 if first_deploy and ptype == "web" else 0)
        size = wanted.get("size", DEFAULT_DYNO_SIZE)
        Formation.objects.create(app=app, type=ptype, quantity=quantity, size=size)
    if first_deploy:
        # app.json's formation counts against the owner's quotas like a `ps:scale`.
        usage_quota_check(owner=app.owner)


def release_get(*, app: App, version) -> Release:
    number = parse_version(version)
    release = (
        app.releases.select_related("build", "config", "creator").filter(version=number).first()
    )
    if release is None:
        raise NotFound(f"release v{number} of {app.name} not found: see `pier releases`")
    return release


def release_rollback(*, app: App, user, version=None) -> Release:
    """Create a new release that copies an earlier release's build and config."""
    with transaction.atomic():
        App.objects.select_for_update().filter(pk=app.pk).first()
        if version is None:
            usable = app.releases.exclude(status=Release.Status.FAILED)
            target = usable[1] if usable.count() > 1 else None
            if target is None:
                raise Invalid(f"{app.name} has no earlier release to roll back to")
        else:
            target = release_get(app=app, version=version)
        if target.status == Release.Status.FAILED:
            raise Invalid(f"cannot roll back to v{target.version}: that release {target.status}")
        return release_create(
            app=app,
            build=target.build,
            config=target.config,
            description=f"Rollback to v{target.version}",
            user=user,
            status=Release.Status.PENDING if target.build else Release.Status.SUCCEEDED,
        )
