"""`pier container:release`: a release from an image pushed to Pier's registry.

The image is pulled into the engine and kept under the app's own image name, as a build's
is; the release it makes is started and health-checked by the runtime like any deploy.
"""

import re
import shlex
import uuid

from django.utils import timezone

from api.errors import Invalid, NotFound, PierError
from api.models import App, Build, Release
from api.selectors import config_current
from builds import images
from builds.services import build_release, release_images_prune
from registry import images as registry_images
from registry.services import registry_required

# `myapp:1.2` or `myapp@sha256:<hex>`, optionally after the registry's host:port.
REFERENCE_RE = re.compile(r"^(?P<repo>[a-z][a-z0-9-]*)(?::(?P<tag>[\w][\w.-]{0,127})"
                          r"|@(?P<digest>sha256:[0-9a-f]{64}))$")


class RegistryUnavailableError(PierError):
    status, id = 503, "registry_unavailable"


def container_release(*, app: App, user, image: str, process_types: list[str]) -> Release:
    """Pull ``image`` (this app's repository in Pier's registry) and release it as
    ``process_types``, each running the image's CMD; return the pending release."""
    setup = registry_required()
    repository, reference = _reference_parse(image=image, app=app, address=setup.address)
    types = _types_check(process_types)
    build_id = uuid.uuid4()
    tag = images.image_tag(app_id=app.id, build_id=build_id)
    try:
        config, digest = registry_images.image_pull(
            setup, repository=repository, reference=reference, local_tag=tag)
    except LookupError as e:
        raise NotFound(f"{e}: push it first (`docker push {setup.address}/{image}`)") from e
    except registry_images.RegistryUnavailable as e:
        raise RegistryUnavailableError(str(e)) from e
    command = shlex.join(config.get("Cmd") or [])
    if not command:  # its local tag goes at the app's next release (release_images_prune)
        raise Invalid(f"{image} has no CMD: give it one (the command its processes run)")
    now = timezone.now()
    build = Build.objects.create(
        id=build_id, app=app, creator=user, status=Build.Status.SUCCEEDED, image=tag,
        buildpack="container", source_sha=digest.partition("@sha256:")[2], image_ref=digest,
        process_types=dict.fromkeys(types, command), started_at=now, finished_at=now,
    )
    try:
        release = build_release(build=build, config=config_current(app=app),
                                description=f"Deployed {', '.join(types)} ({image})",
                                out=lambda line: None)
    except images.BuildFailed as e:  # its release phase failed: recorded, nothing changed
        raise Invalid(e.message) from e
    release_images_prune(app=app)
    return release


def _reference_parse(*, image: str, app: App, address: str) -> tuple[str, str]:
    match = REFERENCE_RE.match(image.strip().removeprefix(f"{address}/"))
    if match is None:
        raise Invalid(f"invalid image {image!r}: use {app.name}:TAG or "
                      f"{app.name}@sha256:DIGEST, as pushed to {address}")
    if match["repo"] != app.name:
        raise Invalid(f"{image!r} is not {app.name}'s: an app releases images of its own "
                      f"repository ({address}/{app.name})")
    return match["repo"], match["tag"] or match["digest"]


def _types_check(process_types) -> list[str]:
    if (not isinstance(process_types, list) or not process_types
            or not all(isinstance(t, str) and re.fullmatch(r"[a-z][a-z0-9_-]{0,29}", t)
                       for t in process_types)):
        raise Invalid("process_types must be a list of process type names, e.g. [\"web\"]")
    return sorted(set(process_types))
