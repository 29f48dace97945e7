"""Build an app's source into an image: buildpacks in a build container, or its Dockerfile."""

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
from .buildpacks import requested_buildpacks
from .confinement import BUILD_USER, BuildLimits, ensure_build_network
from .dockerfile import build_with_dockerfile, relabel
from .errors import BuildFailed, NoBuildpackDetected, StackMissing
from .image import build_from_context, size_text, write_context
from .procfile import ProcfileError, merge_process_types, parse_procfile, parse_release
from .stack import BUILD_IMAGE, BUILDPACKS_DIR, RUN_IMAGE

NO_BUILDPACK_STATUS = 100  # buildpacks/builder/build's "no buildpack detected"
# In a cache volume whose files belong to the build user (older builds ran as root).
CACHE_OWNED_MARKER = ".pier-build-user"
_VALID_ENV_NAME = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


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
    client = client or docker.from_env()
    deadline = time.monotonic() + timeout
    if proxy_env is None:
        proxy_env = bc.proxy_env_from(dict(os.environ))
    if ca_bundle is None:
        ca_bundle = bc.default_ca_bundle()
    procfile = _read_procfile(source_dir)
    labels = {"pier.app": app, "pier.build": build_id}
    errors = _ErrorLines(log)
    dockerfile = _DockerfileBuild(
        client, source_dir, image_tag, labels, errors, deadline, proxy_env, procfile, limits
    )
    if env.get("PIER_BUILDER") == "dockerfile":
        return dockerfile.run()
    _require_image(client, BUILD_IMAGE)
    _require_image(client, RUN_IMAGE)
    specs = requested_buildpacks(env=env, source_dir=source_dir)
    fallback = (source_dir / "Dockerfile").is_file() and not specs
    cache_volume = cache_volume or default_cache_volume(app)
    with bc.BuildContainer(
        client,
        image=BUILD_IMAGE,
        command=[f"{bc.BUILDPACKS_MOUNT}/builder/build"],
        environment=_container_env(specs, ca_bundle, proxy_env, source_version, fallback),
        mounts=_mounts(cache_volume, ca_bundle),
        labels={**labels, "pier.role": "build"},
        limits=limits,
        network=ensure_build_network(client, isolate=limits.isolate),
    ) as build:
        _own_cache(client, build, cache_volume)
        _copy_in(build, source_dir=source_dir, env=env)
        status = build.run(log=errors, timeout=deadline - time.monotonic(), limit=timeout)
        if status != 0 and build.out_of_memory():
            raise BuildFailed(
                f"The build ran out of memory and was killed. Its limits: {limits.describe()}."
            )
        if status == NO_BUILDPACK_STATUS and fallback:
            return dockerfile.run()
        if status == NO_BUILDPACK_STATUS:
            raise NoBuildpackDetected(
                "No buildpack detected. The built-in buildpacks look for: "
                + _detect_summary()
                + ". Or add a Dockerfile, a .buildpacks file, or set BUILDPACK_URL."
            )
        if status != 0:
            log(f"       (This build's limits: {limits.describe()}.)")
            raise BuildFailed(errors.summary(status))
        buildpacks, defaults = _read_outputs(build)
        process_types = merge_process_types(*defaults, procfile)
        _log_process_types(log, procfile=procfile, defaults=defaults)
        labels = _final_labels(labels, process_types, buildpacks, builder="buildpacks")
        log("-----> Compressing and exporting the image")
        context, size = write_context(
            build.export(bc.BUILD_DIR),
            run_image=RUN_IMAGE,
            web_command=process_types.get("web"),
            labels=labels,
        )
    with context:
        image_id = build_from_context(client, context, tag=image_tag, log=log, limits=limits)
    log(f"       Done: {size_text(size)} in /app; image {image_tag}")
    return BuildResult(image_tag, process_types, buildpacks, image_id, labels)


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
class _DockerfileBuild:
    client: docker.DockerClient
    source_dir: Path
    image_tag: str
    labels: dict[str, str]
    log: Callable[[str], None]
    deadline: float
    proxy_env: dict[str, str]
    procfile: dict[str, str]
    limits: BuildLimits

    def run(self) -> BuildResult:
        stage, defaults = build_with_dockerfile(
            self.client,
            source_dir=self.source_dir,
            image_tag=self.image_tag,
            log=self.log,
            deadline=self.deadline,
            proxy_env=self.proxy_env,
            limits=self.limits,
            name=f"{self.labels['pier.app']}-{self.labels['pier.build']}",
        )
        process_types = merge_process_types(defaults, self.procfile)
        _log_process_types(self.log, procfile=self.procfile, defaults=[defaults])
        labels = _final_labels(self.labels, process_types, ["dockerfile"], builder="dockerfile")
        image_id = relabel(
            self.client, image=stage, tag=self.image_tag, labels=labels, limits=self.limits
        )
        return BuildResult(self.image_tag, process_types, ["dockerfile"], image_id, labels)


def _read_procfile(source_dir: Path) -> dict[str, str]:
    path = source_dir / "Procfile"
    if not path.is_file():
        return {}
    try:
        return parse_procfile(path.read_text(errors="replace"))
    except ProcfileError as e:
        raise BuildFailed(str(e)) from e


def _require_image(client: docker.DockerClient, image: str) -> None:
    try:
        client.images.get(image)
    except ImageNotFound as e:
        raise StackMissing(
            f"The stack image {image} is missing: build the stack images first "
            "(buildpacks/stack/build.sh, or ensure_stack_images())."
        ) from e


def _container_env(
    specs: list[str],
    ca_bundle: Path | None,
    proxy_env: dict[str, str],
    source_version: str | None,
    dockerfile_fallback: bool,
) -> dict[str, str]:
    """Return the build container's environment (config vars go in ENV_DIR, not here)."""
    env = {
        "BUILD_DIR": bc.BUILD_DIR,
        "CACHE_DIR": bc.CACHE_DIR,
        "ENV_DIR": bc.ENV_DIR,
        "PIER_OUT_DIR": bc.OUT_DIR,
        "PIER_BUILDPACKS": "\n".join(specs),
        "HOME": "/tmp",  # the build user has no home; /app would ship what lands there
        **proxy_env,
    }
    if ca_bundle is not None:
        env.update(dict.fromkeys(bc.CA_VARIABLES, bc.CA_MOUNT))
    if source_version:
        env["SOURCE_VERSION"] = source_version
    if dockerfile_fallback:
        env["PIER_DOCKERFILE_FALLBACK"] = "1"
    return env


def _mounts(cache_volume: str, ca_bundle: Path | None) -> list[Mount]:
    mounts = [
        Mount(bc.BUILDPACKS_MOUNT, str(BUILDPACKS_DIR), type="bind", read_only=True),
        Mount(bc.CACHE_DIR, cache_volume, type="volume"),
    ]
    if ca_bundle is not None:
        if not ca_bundle.is_file():
            raise BuildFailed(f"The CA bundle {ca_bundle} does not exist.")
        mounts.append(Mount(bc.CA_MOUNT, str(ca_bundle.resolve()), type="bind", read_only=True))
    return mounts


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


def _copy_in(build: bc.BuildContainer, *, source_dir: Path, env: dict[str, str]) -> None:
    """Copy the source and config vars in, and make /app, /env and /cache the build user's."""
    owner = int(BUILD_USER.split(":")[0])
    with bc.tar_of_dir(source_dir, arcname=bc.BUILD_DIR[1:], owner=owner) as source:
        build.put("/", source)
    files = {
        f"{bc.ENV_DIR[1:]}/{name}": value.encode()
        for name, value in env.items()
        if name and set(name) <= _VALID_ENV_NAME
    }
    files[f"{bc.CACHE_DIR[1:]}/{CACHE_OWNED_MARKER}"] = b""
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
