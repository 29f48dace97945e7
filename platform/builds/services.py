"""Builds: create one per push, run it to an image and a release, or fail loudly."""

import logging
import shutil
import tarfile
import uuid
from datetime import timedelta
from pathlib import Path

import kombu.exceptions
import redis
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from api import selectors
from api.errors import Conflict, PierError
from api.models import App, Build, Release
from api.selectors import config_current
from api.services.releases import release_create, release_version_next
from api.services.webhooks import webhook_event
from builds import images
from builds.appjson import app_json, app_json_cron, app_json_formation, app_json_healthcheck
from builds.logstream import BuildLogWriter, CappedOutput
from builds.paths import build_dir, build_output_path
from pier.redis import get_redis
from pier.runtime_config import runtime_backend
from registry import images as registry_images
from registry.collection import collection_request
from registry.config import registry_setup
from runtime.desired import DesiredApp

log = logging.getLogger(__name__)
ACTIVE = (Build.Status.PENDING, Build.Status.BUILDING)
# A pusher that stops refreshing this key has gone: its build must not become a release.
LISTENER_TTL_SECONDS = 20


class BuildAborted(Exception):
    pass


class BuildNotQueued(PierError):
    """The queue (Redis) could not take the build; the build is already marked failed."""

    status, id = 503, "queue_unavailable"


def listener_key(build_id) -> str:
    return f"pier:build:{build_id}:listener"


def build_create(*, app: App, user, source_sha: str) -> Build:
    """Create a pending build, refusing while another build of the app is still running."""
    with transaction.atomic():
        App.objects.select_for_update().filter(pk=app.pk).first()
        _builds_expire(app=app)
        running = app.builds.filter(status__in=ACTIVE).first()
        if running is not None:
            raise Conflict(
                f"another build of {app.name} is running (commit {running.source_sha[:7]}, "
                f"started {running.created_at:%H:%M:%S} UTC): wait for it, then push again"
            )
        return Build.objects.create(app=app, creator=user, source_sha=source_sha)


def _builds_expire(*, app: App) -> None:
    """Fail builds that can never finish, so they never block the app's next push.

    A pending build is dead once its pusher has stopped refreshing the listener key for
    longer than the key lives (the push ended, or its task was lost with nobody left to
    wait for it): no worker would release it anyway. Any other build is dead once it has
    been running far longer than a build may (its worker died).
    """
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.PIER_BUILD_TIMEOUT + 120)
    app.builds.filter(status__in=ACTIVE, created_at__lt=cutoff).update(
        status=Build.Status.FAILED, finished_at=now
    )
    quiet = now - timedelta(seconds=LISTENER_TTL_SECONDS)
    for build in app.builds.filter(status=Build.Status.PENDING, created_at__lt=quiet):
        if not build_listener_alive(build_id=build.id) and build_fail_pending(build_id=build.pk):
            log.warning("build %s: pending with nobody waiting for it; marked failed", build.id)


def build_fail_pending(*, build_id) -> bool:
    """Fail the build if no worker has picked it up; return whether it was still pending."""
    return bool(Build.objects.filter(pk=build_id, status=Build.Status.PENDING).update(
        status=Build.Status.FAILED, finished_at=timezone.now()
    ))


def build_queue(*, build: Build) -> None:
    """Hand ``build`` to a worker, its pusher listening; fail it at once if that is impossible.

    Raise BuildNotQueued with a message for the pusher: a build left pending would block
    the app's next push until it expires.
    """
    from builds.tasks import build_run_task  # the task module imports this one

    try:
        get_redis().set(listener_key(build.id), "1", ex=LISTENER_TTL_SECONDS)
        build_run_task.delay(str(build.id))
    except (redis.RedisError, kombu.exceptions.OperationalError, OSError) as e:
        log.warning("build %s not queued: %s", build.id, e)
        Build.objects.filter(pk=build.pk).update(
            status=Build.Status.FAILED, finished_at=timezone.now()
        )
        raise BuildNotQueued(
            f"could not queue the build: the build queue (Redis) is unreachable ({e}). "
            "The running release is unchanged; try again in a moment."
        ) from e


def builds_ended(build_id: str) -> bool:
    """Tell whether a build of this platform has ended (an unknown id is not ours: False)."""
    try:
        uuid.UUID(build_id)
    except ValueError:
        return False
    return Build.objects.filter(pk=build_id).exclude(status__in=ACTIVE).exists()


def build_listener_alive(*, build_id) -> bool:
    return bool(get_redis().exists(listener_key(build_id)))


def build_run(*, build_id) -> Build:
    """Build the image, run the release phase and create the release; never raises."""
    build = Build.objects.select_related("app").get(pk=build_id)
    if build.status not in ACTIVE:
        return build  # a redelivered task of a build that already ended
    writer = BuildLogWriter(get_redis(), str(build.id), build_output_path(build))
    Build.objects.filter(pk=build.pk).update(
        status=Build.Status.BUILDING, started_at=timezone.now()
    )
    _build_event(build=build, status=Build.Status.BUILDING, action="started")
    status = Build.Status.FAILED
    try:
        output = CappedOutput(writer.write, settings.PIER_MAX_BUILD_LOG_MB * 2**20)
        _build_and_release(build=build, out=output.write)
        status = Build.Status.SUCCEEDED
    except images.BuildFailed as e:
        writer.write(f" !     {e}")
        writer.write(
            " !     Push rejected, failed to compile the app. The running release is unchanged."
        )
    except PierError as e:  # the release was refused, e.g. app.json's formation past a quota
        writer.write(f" !     {e.message}")
        writer.write(" !     Push rejected. The running release is unchanged.")
    except BuildAborted as e:
        writer.write(f" !     {e}")
    except Exception:
        log.exception("build %s crashed", build.id)
        writer.write(" !     Pier failed while building (an internal error, logged on the worker).")
        writer.write(" !     The running release is unchanged; push again, or report it.")
    finally:
        Build.objects.filter(pk=build.pk).update(status=status, finished_at=timezone.now())
        _build_event(build=build, status=status, action=status)
        writer.close(status)
        shutil.rmtree(build_dir(build) / "source", ignore_errors=True)
    build.refresh_from_db()
    return build


def _build_event(*, build: Build, status: str, action: str) -> None:
    data = {"id": str(build.id), "status": status, "source_sha": build.source_sha}
    webhook_event(app=build.app, event="api:build", action=action, data=data)


def _build_and_release(*, build: Build, out) -> None:
    app = build.app
    config = config_current(app=app)
    source = build_dir(build) / "source"
    with tarfile.open(build_dir(build) / "source.tar") as tar:
        tar.extractall(source, filter="data")
    (build_dir(build) / "source.tar").unlink()
    manifest = app_json(source / "app.json", out)
    cron = app_json_cron(manifest)  # before the build: a bad schedule fails it at once
    result = images.build_image(
        app=app.name,
        build_id=str(build.id),
        source_dir=source,
        env=dict(config.values),
        image_tag=images.image_tag(app_id=app.id, build_id=build.id),
        cache_volume=images.cache_volume(app_id=app.id),
        log=out,
        timeout=settings.PIER_BUILD_TIMEOUT,
        limits=images.BuildLimits(
            memory_mb=settings.PIER_BUILD_MEMORY,
            pids=settings.PIER_BUILD_PIDS,
            cpus=settings.PIER_BUILD_CPUS,
            isolate=not settings.PIER_UNSAFE_NO_ISOLATION,
        ),
        source_version=build.source_sha,
        ca_bundle=Path(settings.PIER_CA_BUNDLE) if settings.PIER_CA_BUNDLE else None,
    )
    image_ref = _image_publish(app=app, image=result.image, build=build, out=out)
    Build.objects.filter(pk=build.pk).update(
        formation_defaults=app_json_formation(manifest, result.process_types, out),
        healthcheck=app_json_healthcheck(manifest, out),
        cron=cron,
        image=result.image,
        image_ref=image_ref,
        process_types=result.process_types,
        buildpack=", ".join(result.buildpacks),
    )
    build.refresh_from_db()
    out(f"-----> Discovering process types: {', '.join(result.process_types) or 'none'}")
    if not build_listener_alive(build_id=build.id):
        raise BuildAborted("The push was interrupted, so this build is not released. Push again.")
    release = build_release(build=build, config=config,
                            description=f"Deploy {build.source_sha[:7]}", out=out)
    out(f"-----> Built v{release.version}")
    release_images_prune(app=app)


def _image_publish(*, app: App, image: str, build: Build, out) -> str:
    """Push the built image to Pier's registry, when there is one; return its reference.

    Before any release exists: a registry that is down fails the build, nothing released.
    """
    setup = registry_setup()
    if setup is None:
        return ""
    out(f"-----> Pushing image to {setup.address}/{app.name}")
    try:
        return registry_images.image_push(setup, image=image, repository=app.name,
                                          tag=str(build.id)[:8])
    except registry_images.RegistryUnavailable as e:
        raise images.BuildFailed(str(e)) from e


def build_release(*, build: Build, config, description: str, out) -> Release:
    """Run a built image's release phase (when it has one), then create its pending release.

    The runtime then starts it, health checks and all. Raise BuildFailed, a failed release
    recorded, when the release command fails: the running release is unchanged.
    """
    if "release" in build.process_types:
        out("-----> Running release command...")
        code = _release_phase(app=build.app, config=config, build=build, out=out)
        if code != 0:
            _release_failed(build=build, config=config, code=code, description=description)
    return release_create(app=build.app, build=build, config=config, description=description,
                          user=build.creator, status=Release.Status.PENDING)


def _release_phase(*, app: App, config, build: Build, out) -> int:
    """Run the `release:` process in a one-off container of the new image; return its status."""
    desired = DesiredApp(name=app.name, id=str(app.id), release=release_version_next(app=app),
                         image=build.image, image_ref=build.image_ref, env=dict(config.values),
                         networks=selectors.addon_networks(app=app))

    def output(chunk: bytes) -> None:
        for line in chunk.decode("utf-8", "replace").splitlines():
            out(f"       {line}")

    return runtime_backend().run_oneoff(
        desired,
        build.process_types["release"],
        output=output,
        timeout=settings.PIER_BUILD_TIMEOUT,
        dyno="release.1",
    )


def _release_failed(*, build: Build, config, code: int, description: str) -> None:
    release = release_create(
        app=build.app,
        build=build,
        config=config,
        user=build.creator,
        description=f"{description} (release command failed)",
        status=Release.Status.FAILED,
    )
    raise images.BuildFailed(
        f"Release command exited with status {code}: v{release.version} failed; "
        "the running release is unchanged"
    )


def release_images_prune(*, app: App) -> None:
    """Remove the images of all but the last PIER_KEEP_RELEASE_IMAGES releases: the
    engine's, and the registry's manifests (their blobs then go in a garbage collection).
    """
    recent = app.releases.exclude(build=None).select_related("build")
    kept = Build.objects.filter(pk__in={r.build_id for r in
                                        recent[: settings.PIER_KEEP_RELEASE_IMAGES]})
    images.prune(app_id=app.id, keep={b.image for b in kept})
    setup = registry_setup()
    if setup is None:
        return
    # The same image released twice has one manifest: a kept release may still use it.
    kept_refs = {b.image_ref for b in kept}
    old = app.builds.exclude(pk__in=kept).exclude(image_ref="").exclude(status__in=ACTIVE)
    for build in old:
        if build.image_ref not in kept_refs:
            registry_images.manifest_delete(setup, reference=build.image_ref)
        Build.objects.filter(pk=build.pk).update(image_ref="")
    if old:
        collection_request()
