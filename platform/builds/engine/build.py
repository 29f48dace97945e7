"""Build an app's source into an image: executes a BuildPlan (plan.py).

Buildpacks run in a build container; the app's code becomes the top layer of an image
FROM its dependency layers (layers.py), made only when their keys change. Or the app's
own Dockerfile is built.
"""

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import docker
from docker.errors import ImageNotFound
from docker.types import Mount

from . import container as bc
from .confinement import BUILD_USER, BuildLimits, ensure_build_network
from .dockerfile import build_with_dockerfile, relabel
from .errors import BuildFailed, NoBuildpackDetected, StackMissing
from .image import build_from_context, size_text, write_context
from .layers import DependencyLayer, layer_context, plan_layers
from .plan import DOCKERFILE, BuildPlan, plan_build
from .procfile import merge_process_types, parse_release
from .stack import BUILD_IMAGE, BUILDPACKS_DIR, RUN_IMAGE

NO_BUILDPACK_STATUS = 100  # buildpacks/builder/build's "no buildpack detected"
# In a cache volume whose files belong to the build user (older builds ran as root).
CACHE_OWNED_MARKER = ".pier-build-user"
# On the app image: the dependency layer images it is built on (kept while it is).
DEPENDENCY_LAYERS_LABEL = "pier.dependency_layers"


@dataclass(frozen=True)
class BuildResult:
    image: str  # the tag asked for
    process_types: dict[str, str]
    buildpacks: list[str]  # what ran: built-in names or the URLs/paths given; or "dockerfile"
    image_id: str = ""
    labels: dict[str, str] = field(default_factory=dict)


def default_cache_volume(app_id: str) -> str:
    """Return an app's build cache volume: by id, so a later owner of its name starts empty."""
    return f"pier-cache-{app_id}"


def build_image(
    *,
    app: str,
    build_id: str,
    source_dir: Path,
    env: dict[str, str],
    image_tag: str,
    log: Callable[[str], None],
    timeout: float,
    limits: BuildLimits,
    cache_volume: str | None = None,
    ca_bundle: Path | None = None,
    proxy_env: dict[str, str] | None = None,
    source_version: str | None = None,
    client: docker.DockerClient | None = None,
) -> BuildResult:
    """Build source_dir into the image image_tag; raise BuildFailed with the reason if not.

    env holds the app's config vars (handed to buildpacks as ENV_DIR files). Every output
    line goes to log as it happens. cache_volume defaults to `pier-cache-<app>`; ca_bundle
    to the host's SSL_CERT_FILE; proxy_env to the host's HTTP(S)_PROXY/NO_PROXY. The
    build's code runs confined (see confinement.py) within limits.
    """
    if proxy_env is None:
        proxy_env = bc.proxy_env_from(dict(os.environ))
    plan = plan_build(
        app=app,
        build_id=build_id,
        source_dir=source_dir,
        env=env,
        cache_volume=cache_volume or default_cache_volume(app),
        ca_bundle=bc.default_ca_bundle() if ca_bundle is None else ca_bundle,
        proxy_env=proxy_env,
        source_version=source_version,
    )
    run = _Run(
        client or docker.from_env(),
        plan,
        source_dir,
        image_tag,
        _ErrorLines(log),
        time.monotonic() + timeout,
        timeout,
        limits,
        proxy_env,
    )
    return run.dockerfile() if plan.builder == DOCKERFILE else run.buildpacks()


class _ErrorLines:
    """Pass lines on to log, keeping the ` !` error lines for the exception message."""

    def __init__(self, log: Callable[[str], None]):
        self._log = log
        self.lines: list[str] = []

    def __call__(self, line: str) -> None:
        self._log(line)
        if line.startswith(" !"):
            self.lines.append(line[2:].strip())

    def summary(self, status: int) -> str:
        if status == 137:
            return "The build was killed (out of memory?): exit status 137."
        if self.lines:
            return " ".join(self.lines[-8:])
        return f"The buildpack failed with exit status {status}: see the build log above."


@dataclass
class _Run:
    """Executes a BuildPlan: the buildpacks in a build container, or the app's Dockerfile."""

    client: docker.DockerClient
    plan: BuildPlan
    source_dir: Path
    image_tag: str
    log: _ErrorLines
    deadline: float
    timeout: float
    limits: BuildLimits
    proxy_env: dict[str, str]

    def dockerfile(self) -> BuildResult:
        labels = self.plan.labels
        stage, defaults = build_with_dockerfile(
            self.client,
            source_dir=self.source_dir,
            image_tag=self.image_tag,
            log=self.log,
            deadline=self.deadline,
            proxy_env=self.proxy_env,
            limits=self.limits,
            name=f"{labels['pier.app']}-{labels['pier.build']}",
        )
        process_types = merge_process_types(defaults, self.plan.procfile)
        _log_process_types(self.log, procfile=self.plan.procfile, defaults=[defaults])
        labels = _final_labels(labels, process_types, ["dockerfile"], builder="dockerfile")
        image_id = relabel(
            self.client, image=stage, tag=self.image_tag, labels=labels, limits=self.limits
        )
        return BuildResult(self.image_tag, process_types, ["dockerfile"], image_id, labels)

    def buildpacks(self) -> BuildResult:
        client, plan, log = self.client, self.plan, self.log
        _require_image(client, BUILD_IMAGE)
        _require_image(client, RUN_IMAGE)
        with bc.BuildContainer(
            client,
            image=BUILD_IMAGE,
            command=[f"{bc.BUILDPACKS_MOUNT}/builder/build"],
            environment=plan.environment or {},
            mounts=list(plan.mounts),
            labels={**plan.labels, "pier.role": "build"},
            limits=self.limits,
            network=ensure_build_network(client, isolate=self.limits.isolate),
        ) as build:
            _own_cache(client, build, plan.cache_volume)
            _copy_in(build, source_dir=self.source_dir, env_files=plan.env_files or {})
            status = build.run(
                log=log, timeout=self.deadline - time.monotonic(), limit=self.timeout
            )
            if status == NO_BUILDPACK_STATUS and plan.dockerfile_fallback:
                return self.dockerfile()
            self._check_status(build, status)
            buildpacks, defaults = _read_outputs(build)
            process_types = merge_process_types(*defaults, plan.procfile)
            _log_process_types(log, procfile=plan.procfile, defaults=defaults)
            log("-----> Exporting the image")
            layers = plan_layers(
                (build.read_file(f"{bc.OUT_DIR}/layers") or b"").decode(errors="replace"),
                repository=self.image_tag.rpartition(":")[0],
                run_image=RUN_IMAGE,
                run_image_id=client.images.get(RUN_IMAGE).id,
            )
            for layer in layers:
                self._make_layer(build, layer)
            labels = _final_labels(plan.labels, process_types, buildpacks, builder="buildpacks")
            labels[DEPENDENCY_LAYERS_LABEL] = json.dumps([layer.tag for layer in layers])
            context, size = write_context(
                build.export(bc.BUILD_DIR),
                base_image=layers[-1].tag if layers else RUN_IMAGE,
                web_command=process_types.get("web"),
                labels=labels,
                layer_folders=[layer.folder for layer in layers],
            )
        log(f"       Exported {size_text(size)} of code in /app")
        with context:
            image_id = build_from_context(
                client, context, tag=self.image_tag, log=log, limits=self.limits
            )
        log(f"       Done: image {self.image_tag}")
        return BuildResult(self.image_tag, process_types, buildpacks, image_id, labels)

    def _check_status(self, build: bc.BuildContainer, status: int) -> None:
        if status != 0 and build.out_of_memory():
            raise BuildFailed(
                f"The build ran out of memory and was killed. Its limits: {self.limits.describe()}."
            )
        if status == NO_BUILDPACK_STATUS:
            raise NoBuildpackDetected(
                "No buildpack detected. The built-in buildpacks look for: "
                + _detect_summary()
                + ". Or add a Dockerfile, a .buildpacks file, or set BUILDPACK_URL."
            )
        if status != 0:
            self.log(f"       (This build's limits: {self.limits.describe()}.)")
            raise BuildFailed(self.log.summary(status))

    def _make_layer(self, build: bc.BuildContainer, layer: DependencyLayer) -> None:
        """Make the image of a dependency layer unless its key made it before."""
        try:
            self.client.images.get(layer.tag)
            self.log(f"       /app/{layer.folder}: dependencies unchanged, their layer reused")
            return
        except ImageNotFound:
            pass
        self.log(f"       /app/{layer.folder}: new dependencies, making their layer")
        try:
            content = build.export(layer.source)
        except docker.errors.NotFound as e:
            raise BuildFailed(
                f"The dependency layer /app/{layer.folder} names {layer.source}, "
                "which the build did not make."
            ) from e
        with layer_context(content, layer) as context:
            build_from_context(
                self.client, context, tag=layer.tag, log=self.log, limits=self.limits
            )


def _require_image(client: docker.DockerClient, image: str) -> None:
    try:
        client.images.get(image)
    except ImageNotFound as e:
        raise StackMissing(
            f"The stack image {image} is missing: build the stack images first "
            "(buildpacks/stack/build.sh, or ensure_stack_images())."
        ) from e


def _own_cache(client: docker.DockerClient, build: bc.BuildContainer, volume: str) -> None:
    """Give the build user a cache volume that builds running as root filled, once."""
    if build.read_file(f"{bc.CACHE_DIR}/{CACHE_OWNED_MARKER}") is not None:
        return
    try:  # Pier's own command, not the app's: root, but only allowed to change owners
        client.containers.run(
            BUILD_IMAGE,
            ["chown", "-R", BUILD_USER, bc.CACHE_DIR],
            mounts=[Mount(bc.CACHE_DIR, volume, type="volume")],
            network_mode="none",
            cap_drop=["ALL"],
            cap_add=["CHOWN", "DAC_READ_SEARCH"],
            security_opt=["no-new-privileges"],
            remove=True,
        )
    except docker.errors.DockerException as e:
        raise BuildFailed(f"Could not hand the build cache {volume} to the build user: {e}") from e


def _copy_in(build: bc.BuildContainer, *, source_dir: Path, env_files: dict[str, bytes]) -> None:
    """Copy the source and config vars in, and make /app, /env and /cache the build user's."""
    owner = int(BUILD_USER.split(":")[0])
    with bc.tar_of_dir(source_dir, arcname=bc.BUILD_DIR[1:], owner=owner) as source:
        build.put("/", source)
    files = {**env_files, f"{bc.CACHE_DIR[1:]}/{CACHE_OWNED_MARKER}": b""}
    dirs = {bc.ENV_DIR[1:]: 0o700, bc.CACHE_DIR[1:]: 0o755}
    build.put("/", bc.tar_of_files(files, mode=0o600, owner=owner, dirs=dirs))


def _read_outputs(build: bc.BuildContainer) -> tuple[list[str], list[dict[str, str]]]:
    """Return (buildpacks that ran, their default process types in order)."""
    listing = (build.read_file(f"{bc.OUT_DIR}/buildpacks") or b"").decode()
    buildpacks, defaults = [], []
    for index, line in enumerate(listing.splitlines()):
        buildpacks.append(line.split("\t", 1)[0])
        release = build.read_file(f"{bc.OUT_DIR}/release-{index}.yml")
        defaults.append(parse_release(release.decode(errors="replace")) if release else {})
    return buildpacks, defaults


def _log_process_types(log, *, procfile: dict[str, str], defaults: list[dict[str, str]]) -> None:
    declared = ", ".join(procfile) or "(none)"
    log(f"       Procfile declares types -> {declared}")
    default_types = [name for layer in defaults for name in layer if name not in procfile]
    if default_types:
        log(f"       Default types for buildpack -> {', '.join(default_types)}")


def _final_labels(
    labels: dict[str, str], process_types: dict[str, str], buildpacks: list[str], *, builder: str
) -> dict[str, str]:
    return {
        **labels,
        "pier.process_types": json.dumps(process_types, sort_keys=True),
        "pier.buildpacks": json.dumps(buildpacks),
        "pier.builder": builder,
    }


def _detect_summary() -> str:
    entries = []
    for line in (BUILDPACKS_DIR / "order").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, looks_for = line.partition(" ")
            entries.append(f"{looks_for.strip()} ({name})")
    return "; ".join(entries)
