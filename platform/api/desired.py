"""The desired state the runtime converges to, read from the database as plain dataclasses."""

from addons.container import desired as addon_desired
from api import selectors
from api.models import Addon, App, Certificate, Release
from api.validation import DYNO_SIZES
from runtime.addons import DesiredAddon
from runtime.desired import DesiredApp, HealthCheck, ProcessSpec


def release_to_run(*, app: App) -> Release | None:
    """Return the release the runtime should run: the newest one not failed and with a build.

    A pending release is tried; if its web processes never get healthy the runtime marks
    it failed and the newest succeeded one comes back here.
    """
    return (
        app.releases.exclude(status=Release.Status.FAILED)
        .exclude(build=None)
        .select_related("build", "config")
        .first()
    )


def desired_app(*, app: App) -> DesiredApp | None:
    release = release_to_run(app=app)
    if release is None or not release.build.image:
        return None
    types = release.build.process_types
    formation = []
    for row in app.formation.filter(type__in=list(types)):
        size = DYNO_SIZES.get(row.size) or DYNO_SIZES["standard"]
        formation.append(
            ProcessSpec(
                type=row.type,
                quantity=row.quantity,
                command=types[row.type],
                memory_mb=size.memory_mb,
                cpu_shares=size.cpu_shares,
                max_processes=size.max_processes,
                restart_token=row.restarted_at.isoformat() if row.restarted_at else "",
                process_tokens=row.process_restarts,
            )
        )
    return DesiredApp(
        name=app.name,
        id=str(app.id),
        release=release.version,
        image=release.build.image,
        image_ref=release.build.image_ref,
        env=dict(release.config.values),
        formation=tuple(formation),
        domains=tuple(app.domains.values_list("hostname", flat=True)),
        maintenance=app.maintenance,
        healthcheck=HealthCheck(**release.build.healthcheck),
        certificate=_certificate(app),
        https_redirect=app.https_redirect,
        networks=selectors.addon_networks(app=app),
        sleep_after=app.sleep_after or 0,
    )


def _certificate(app: App) -> str:
    try:
        return app.certificate.bundle
    except Certificate.DoesNotExist:
        return ""


def desired_state() -> list[DesiredApp]:
    """Every app; one with no release to run is release 0, so its hosts still get a route."""
    apps = App.objects.prefetch_related("formation", "domains").select_related("certificate")
    return [
        desired_app(app=app)
        or DesiredApp(name=app.name, id=str(app.id), release=0, image="",
                      maintenance=app.maintenance, certificate=_certificate(app),
                      https_redirect=app.https_redirect,
                      domains=tuple(app.domains.values_list("hostname", flat=True)))
        for app in apps
    ]


def desired_addons() -> list[DesiredAddon]:
    """Every add-on that runs in a container of its own (the runtime keeps them running)."""
    rows = Addon.objects.filter(provider=Addon.Provider.CONTAINER,
                                state__in=Addon.LIVE_STATES)
    return [addon_desired(row) for row in rows]
