"""Selectors read state; access rules for apps live here so every caller shares them."""

from datetime import UTC, datetime

import redis
from django.conf import settings
from django.db.models import Q, QuerySet

from addons.container import network
from api import dyno_status
from api.errors import NotFound
from api.models import Addon, AddonAttachment, ApiToken, App, Config, Release
from pier.public_url import public_url
from pier.redis import get_redis
from runtime.sleep import SLEEPING_KEY, describe_after


def apps_for_user(*, user) -> QuerySet[App]:
    return App.objects.filter(Q(owner=user) | Q(collaborator__user=user)).distinct()


def app_visible(*, user, app_id) -> bool:
    """Return whether user may still see the app with this id (it may be gone or shared no more)."""
    return apps_for_user(user=user).filter(pk=app_id).exists()


def token_may_read(*, key_hash: str, app_id) -> bool:
    """Return whether the token (by hash) is still valid and its user may still see the app."""
    token = ApiToken.objects.filter(key_hash=key_hash, revoked_at__isnull=True,
                                    user__is_active=True).select_related("user").first()
    return token is not None and app_visible(user=token.user, app_id=app_id)


def app_get(*, user, name: str, for_update: bool = False) -> App:
    """Return the app named name if user may see it; otherwise NotFound (never reveal it exists)."""
    queryset = apps_for_user(user=user).filter(name=name)
    if for_update:
        # DISTINCT and FOR UPDATE don't mix; lock the row by primary key instead.
        ids = list(queryset.values_list("pk", flat=True))
        queryset = App.objects.select_for_update().filter(pk__in=ids)
    app = queryset.select_related("owner").first()
    if app is None:
        raise NotFound(f"app {name!r} not found (or you have no access to it)")
    return app


def release_current(*, app: App) -> Release | None:
    """Return the release that should be running: the newest one that succeeded."""
    return (
        app.releases.filter(status=Release.Status.SUCCEEDED)
        .select_related("build", "config")
        .first()
    )


def config_current(*, app: App) -> Config:
    """Return the config of the newest release: rollbacks restore config as Heroku's do."""
    latest = app.releases.select_related("config").first()
    if latest is not None:
        return latest.config
    return app.configs.first() or Config(app=app, values={})


def process_types_current(*, app: App) -> dict[str, str]:
    release = release_current(app=app)
    if release is None or release.build is None:
        return {}
    return dict(release.build.process_types)


def app_sleep(*, app: App) -> dict:
    """Return the app's sleep setting and whether the runtime has it asleep now."""
    state = {"enabled": app.sleep_after is not None, "after_seconds": app.sleep_after,
             "after": describe_after(app.sleep_after) if app.sleep_after else None,
             "sleeping": False, "since": None}
    if app.sleep_after is None:
        return state
    try:
        stored = get_redis().hget(SLEEPING_KEY, str(app.id))
    except redis.RedisError:
        return state  # the runtime's view is unavailable: show the setting alone
    if stored:
        since = float(stored.split()[1])
        state.update(sleeping=True, since=datetime.fromtimestamp(since, UTC).isoformat())
    return state


def app_web_url(*, app: App) -> str:
    port = settings.PIER_ROUTER_PORT
    suffix = "" if port == 80 else f":{port}"
    return f"http://{app.name}.{settings.PIER_DOMAIN}{suffix}"


def control_plane_url() -> str:
    return public_url(api_url=settings.PIER_API_URL, api_host=settings.PIER_API_HOST,
                      https_port=settings.PIER_ROUTER_HTTPS_PORT,
                      http_port=settings.PIER_ROUTER_PORT)


def app_git_url(*, app: App) -> str:
    return f"{control_plane_url().rstrip('/')}/{app.name}.git"


def dynos_list(*, app: App, statuses: dict[str, dict] | None = None) -> list[dict]:
    """Return one entry per desired process (web.1, web.2...), with state as last reported.

    `statuses` maps a process name to what the runtime reported (read from Redis when not
    given); a process it has not reported yet shows as `pending`.
    """
    if statuses is None:
        statuses = dyno_status.statuses_read(app=str(app.id))
    release = release_current(app=app)
    types = process_types_current(app=app)
    dynos = []
    for row in app.formation.filter(type__in=types, quantity__gt=0):
        for index in range(1, row.quantity + 1):
            name = f"{row.type}.{index}"
            reported = statuses.get(name, {})
            dynos.append(
                {
                    "name": name,
                    "type": row.type,
                    "state": reported.get("state", "pending"),
                    "size": row.size,
                    "command": types[row.type],
                    "release": {"version": reported.get("release", release.version)},
                    "started_at": reported.get("started_at"),
                    "restarts": reported.get("restarts", 0),
                    "node": reported.get("node", ""),
                }
            )
    return dynos


def build_get(*, app: App, build_id: str | None):
    """Return the app's build whose id starts with build_id, or its latest build."""
    builds = app.builds.all()
    if build_id:
        if len(build_id) < 6:
            raise NotFound("give at least 6 characters of the build id (see `pier builds`)")
        builds = builds.filter(id__startswith=build_id.lower())
    build = builds.first()
    if build is None:
        raise NotFound(f"no build {build_id or 'yet'} of {app.name}: see `pier builds`")
    return build


def addon_networks(*, app: App) -> tuple[str, ...]:
    """The add-on networks an app's processes join: one per attached container add-on."""
    rows = AddonAttachment.objects.filter(app=app, addon__provider=Addon.Provider.CONTAINER,
                                          addon__state__in=Addon.LIVE_STATES)
    rows = rows.select_related("addon")
    return tuple(sorted({network(row.addon) for row in rows}))
