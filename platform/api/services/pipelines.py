"""Pipelines: apps of one codebase in stages, and promotion of a build down the stages.

Promotion copies the build, never the config: each target gets the very image of the
source's current release (tagged under the target's own repository, no rebuild) as a new
release with its own config vars, through the release phase and health checks of any
deploy.
"""

import re

from django.db import IntegrityError, transaction
from docker.errors import DockerException

from api.errors import Conflict, Forbidden, Invalid, NotFound
from api.models import APP_NAME_REGEX, App, Build, Pipeline, PipelineCoupling, Release
from api.selectors import apps_for_user, config_current, release_current
from builds import images
from builds.services import build_release

STAGES = PipelineCoupling.STAGES


def _stage(stage) -> str:
    if stage not in STAGES:
        raise Invalid(f"unknown stage {stage!r}: use one of {', '.join(STAGES)}")
    return stage


def pipelines_for_user(*, user):
    """Pipelines user owns or holds an app of."""
    mine = apps_for_user(user=user).values("pk")
    return (Pipeline.objects.filter(owner=user) | Pipeline.objects.filter(
        couplings__app__in=mine)).distinct()


def pipeline_get(*, user, name: str) -> Pipeline:
    pipeline = pipelines_for_user(user=user).filter(name=name).first()
    if pipeline is None:
        raise NotFound(f"pipeline {name!r} not found (or you have no app in it)")
    return pipeline


def pipeline_create(*, user, name, app: App, stage) -> Pipeline:
    if not isinstance(name, str) or not re.match(APP_NAME_REGEX, name):
        raise Invalid("a pipeline name is 2-30 lower-case letters, digits and dashes, "
                      "starting with a letter")
    stage = _stage(stage)
    try:
        with transaction.atomic():
            pipeline = Pipeline.objects.create(name=name, owner=user)
            _couple(pipeline=pipeline, app=app, stage=stage)
    except IntegrityError:
        raise Conflict(f"a pipeline named {name} already exists: pick another name") from None
    return pipeline


def pipeline_add(*, user, name: str, app: App, stage) -> PipelineCoupling:
    pipeline = pipeline_get(user=user, name=name)
    with transaction.atomic():
        return _couple(pipeline=pipeline, app=app, stage=_stage(stage))


def _couple(*, pipeline: Pipeline, app: App, stage: str) -> PipelineCoupling:
    existing = PipelineCoupling.objects.filter(app=app).select_related("pipeline").first()
    if existing is not None:
        raise Conflict(f"{app.name} is already in pipeline {existing.pipeline.name} "
                       f"({existing.stage}): an app belongs to one pipeline")
    return PipelineCoupling.objects.create(pipeline=pipeline, app=app, stage=stage)


def pipeline_promote(*, user, app: App, out=lambda line: None) -> list[Release]:
    """Promote app's current release to the apps of the next stage that has any."""
    coupling = PipelineCoupling.objects.filter(app=app).select_related("pipeline").first()
    if coupling is None:
        raise Invalid(f"{app.name} is in no pipeline: add it with `pier pipelines:add`")
    source = release_current(app=app)
    if source is None or source.build is None or not source.build.image:
        raise Invalid(f"{app.name} has no deployed release to promote")
    targets = _next_stage_apps(coupling=coupling)
    for target in targets:
        if not apps_for_user(user=user).filter(pk=target.pk).exists():
            raise Forbidden(f"you have no access to {target.name} in {coupling.pipeline.name}")
        _check_process_types(target=target, build=source.build, source=app)
    description = f"Promote {app.name} v{source.version}"
    return [_promote_to(target=target, source=source.build, user=user,
                        description=description, out=out) for target in targets]


def _next_stage_apps(*, coupling: PipelineCoupling) -> list[App]:
    couplings = coupling.pipeline.couplings.select_related("app")
    for stage in STAGES[STAGES.index(coupling.stage) + 1:]:
        apps = [c.app for c in couplings if c.stage == stage]
        if apps:
            return apps
    raise Invalid(f"{coupling.app.name} is in the last stage with apps of "
                  f"{coupling.pipeline.name} ({coupling.stage}): nothing to promote to")


def _check_process_types(*, target: App, build: Build, source: App) -> None:
    """Refuse when the target runs a process type the promoted build does not have."""
    running = target.formation.filter(quantity__gt=0).values_list("type", flat=True)
    missing = sorted(set(running) - set(build.process_types))
    if missing:
        raise Invalid(
            f"cannot promote {source.name} to {target.name}: {target.name} runs "
            f"{', '.join(missing)} processes, which {source.name}'s build does not define "
            f"(its Procfile has {', '.join(sorted(build.process_types)) or 'none'}). "
            f"Scale them to 0 on {target.name}, or add them to the Procfile")


def _promote_to(*, target: App, source: Build, user, description: str, out) -> Release:
    build = Build.objects.create(
        app=target, status=Build.Status.SUCCEEDED, source_sha=source.source_sha,
        buildpack=source.buildpack, process_types=source.process_types,
        formation_defaults=source.formation_defaults, healthcheck=source.healthcheck,
        cron=source.cron, creator=user, started_at=source.started_at,
        finished_at=source.finished_at)
    try:
        build.image = images.copy(image=source.image, app_id=target.id, build_id=build.id)
    except DockerException as e:
        build.delete()
        raise Conflict(f"the image of {description.removeprefix('Promote ')} cannot be "
                       f"copied ({e}): deploy it again, then promote") from None
    build.save(update_fields=["image"])
    try:
        return build_release(build=build, config=config_current(app=target),
                             description=description, out=out)
    except images.BuildFailed as e:
        raise Conflict(f"promotion to {target.name} failed: {e}") from None
