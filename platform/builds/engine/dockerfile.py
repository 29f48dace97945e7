"""Build an app from its own Dockerfile: for apps no buildpack detects, or on request."""

import io
import json
import shlex
import time
from collections.abc import Callable
from pathlib import Path

import docker

from .confinement import BuildCgroup, BuildLimits, dockerfile_build_options
from .container import tar_of_dir, tar_of_files
from .errors import BuildFailed, BuildTimedOut
from .image import build_from_context, docker_build


def build_with_dockerfile(
    client: docker.DockerClient,
    *,
    source_dir: Path,
    image_tag: str,
    log: Callable[[str], None],
    deadline: float,
    proxy_env: dict[str, str],
    limits: BuildLimits,
    name: str,
) -> tuple[str, dict[str, str]]:
    """Build source_dir's Dockerfile as image_tag; return (image id, {"web": CMD}).

    The output streams to log. Time: the build is stopped once no output came for the
    time left before deadline, or when output arrives after it. Its RUN steps are confined
    (limits, build network) under a cgroup called name.
    """
    if not (source_dir / "Dockerfile").is_file():
        raise BuildFailed("PIER_BUILDER=dockerfile is set, but the app has no Dockerfile.")
    log("-----> Building the app's Dockerfile")
    stage_tag = f"{image_tag}-dockerfile"
    context = tar_of_dir(source_dir)
    remaining = deadline - time.monotonic()
    try:
        with dockerfile_build_options(client, name=name, limits=limits) as (params, cgroup):
            for event in docker_build(
                client,
                context=context,
                tag=stage_tag,
                params=params,
                buildargs=dict(proxy_env),
                timeout=max(remaining, 1),
            ):
                if "error" in event:
                    raise BuildFailed(_step_failed(event["error"].strip(), cgroup, limits))
                for line in event.get("stream", "").splitlines():
                    if line.strip():
                        log(f"       {line}")
                if time.monotonic() > deadline:
                    raise BuildTimedOut("The Dockerfile build ran longer than its time limit.")
    except docker.errors.APIError as e:
        raise BuildFailed(f"docker build failed: {e.explanation or e}") from e
    except docker.errors.DockerException as e:
        raise BuildFailed(f"docker build failed: {e}") from e
    except OSError as e:  # the read timed out: nothing came before the deadline
        raise BuildTimedOut("The Dockerfile build ran longer than its time limit.") from e
    finally:
        context.close()
    config = client.images.get(stage_tag).attrs["Config"]
    # The image's ENTRYPOINT stays in force; a process command replaces its CMD.
    cmd = config.get("Cmd") or []
    process_types = {"web": shlex.join(cmd)} if cmd else {}
    return stage_tag, process_types


def _step_failed(error: str, cgroup: BuildCgroup, limits: BuildLimits) -> str:
    """Return the message of a failed step, saying which build limit it hit, if one."""
    message = f"docker build failed: {error}"
    if cgroup.pids_exhausted():
        return f"{message}. The build hit its process limit: {limits.describe()}."
    if error.endswith("code: 137"):
        return f"{message}. Killed: out of memory? The build's limits: {limits.describe()}."
    return message


def relabel(
    client: docker.DockerClient,
    *,
    image: str,
    tag: str,
    labels: dict[str, str],
    limits: BuildLimits,
) -> str:
    """Tag image as tag with labels added (a metadata-only build); return the image id."""
    label_args = " ".join(f"{json.dumps(k)}={json.dumps(v)}" for k, v in labels.items())
    dockerfile = f"FROM {image}\nLABEL {label_args}\n"
    context = io.BytesIO(tar_of_files({"Dockerfile": dockerfile.encode()}))
    try:
        return build_from_context(client, context, tag=tag, log=print, limits=limits)
    finally:
        try:
            client.images.remove(image, noprune=True)
        except docker.errors.APIError:
            pass
