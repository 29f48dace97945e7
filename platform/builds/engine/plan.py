"""What a build will do, decided before anything runs: a value tests check on their own.

plan_build reads the app's source (Procfile, Dockerfile, .buildpacks) and config vars and
settles the builder, the buildpacks, and the build container's environment and mounts.
build.py executes a plan; nothing here touches Docker.
"""

from dataclasses import dataclass
from pathlib import Path

from docker.types import Mount

from . import container as bc
from .buildpacks import requested_buildpacks
from .errors import BuildFailed
from .procfile import ProcfileError, parse_procfile
from .stack import BUILDPACKS_DIR

DOCKERFILE = "dockerfile"
BUILDPACKS = "buildpacks"
_VALID_ENV_NAME = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


@dataclass(frozen=True)
class BuildPlan:
    builder: str  # DOCKERFILE: the app's Dockerfile only; BUILDPACKS: buildpacks first
    procfile: dict[str, str]
    labels: dict[str, str]  # on the build container and the image: pier.app, pier.build
    buildpacks: tuple[str, ...] = ()  # asked for (.buildpacks, BUILDPACK_URL); () detects
    dockerfile_fallback: bool = False  # no buildpack detected: build the Dockerfile instead
    cache_volume: str = ""
    environment: dict[str, str] | None = None  # the build container's (not the config vars)
    mounts: tuple[Mount, ...] = ()
    env_files: dict[str, bytes] | None = None  # config vars as ENV_DIR files


def plan_build(
    *,
    app: str,
    build_id: str,
    source_dir: Path,
    env: dict[str, str],
    cache_volume: str,
    ca_bundle: Path | None,
    proxy_env: dict[str, str],
    source_version: str | None,
) -> BuildPlan:
    """Return the plan of building source_dir with config vars env. Errors: BuildFailed."""
    procfile = _read_procfile(source_dir)
    labels = {"pier.app": app, "pier.build": build_id}
    if env.get("PIER_BUILDER") == "dockerfile":
        return BuildPlan(DOCKERFILE, procfile, labels)
    specs = requested_buildpacks(env=env, source_dir=source_dir)
    fallback = (source_dir / "Dockerfile").is_file() and not specs
    return BuildPlan(
        BUILDPACKS,
        procfile,
        labels,
        buildpacks=tuple(specs),
        dockerfile_fallback=fallback,
        cache_volume=cache_volume,
        environment=_container_env(specs, ca_bundle, proxy_env, source_version, fallback),
        mounts=tuple(_mounts(cache_volume, ca_bundle)),
        env_files={
            f"{bc.ENV_DIR[1:]}/{name}": value.encode()
            for name, value in env.items()
            if name and set(name) <= _VALID_ENV_NAME
        },
    )


def _read_procfile(source_dir: Path) -> dict[str, str]:
    path = source_dir / "Procfile"
    if not path.is_file():
        return {}
    try:
        return parse_procfile(path.read_text(errors="replace"))
    except ProcfileError as e:
        raise BuildFailed(str(e)) from e


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
