"""Build an app from its own Dockerfile: for apps no buildpack detects, or on request."""

import io
import json
import shlex
import time
from collections.abc import Callable
from pathlib import Path

import docker

from .container import tar_of_dir, tar_of_files
from .errors import BuildFailed, BuildTimedOut
from .image import build_from_context


def build_with_dockerfile(
    client: docker.DockerClient,
    *,
    source_dir: Path,
    image_tag: str,
    log: Callable[[str], None],
    deadline: float,
    proxy_env: dict[str, str],
) -> tuple[str, dict[str, str]]:
    """Build source_dir's Dockerfile as image_tag; return (image id, {"web": CMD}).

    The output streams to log. Time: the build is stopped once no output came for the
    time left before deadline, or when output arrives after it.
    """
    if not (source_dir / "Dockerfile").is_file():
        raise BuildFailed("PIER_BUILDER=dockerfile is set, but the app has no Dockerfile.")
    log("-----> Building the app's Dockerfile")
    stage_tag = f"{image_tag}-dockerfile"
    context = tar_of_dir(source_dir)
    remaining = deadline - time.monotonic()
    try:
        for event in client.api.build(
            fileobj=context,
            custom_context=True,
            tag=stage_tag,
            rm=True,
            forcerm=True,
            decode=True,
            buildargs=dict(proxy_env),
            timeout=max(remaining, 1),
        ):
            if "error" in event:
                raise BuildFailed(f"docker build failed: {event['error'].strip()}")
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


def relabel(client: docker.DockerClient, *, image: str, tag: str, labels: dict[str, str]) -> str:
    """Tag image as tag with labels added (a metadata-only build); return the image id."""
    label_args = " ".join(f"{json.dumps(k)}={json.dumps(v)}" for k, v in labels.items())
    dockerfile = f"FROM {image}\nLABEL {label_args}\n"
    context = io.BytesIO(tar_of_files({"Dockerfile": dockerfile.encode()}))
    try:
        return build_from_context(client, context, tag=tag, log=print)
    finally:
        try:
            client.images.remove(image, noprune=True)
        except docker.errors.APIError:
            pass
