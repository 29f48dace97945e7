"""Make an app image: the stack's run image plus the compiled /app, owned by `app`."""

import io
import json
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator

import docker

from .confinement import BuildLimits
from .container import IterStream
from .errors import BuildFailed
from .layers import in_layer

# Dependency folders a buildpack did not declare as layers (see layers.py) go in a layer of
# their own, before the app's code: while they are byte-for-byte the same (a warm rebuild
# restores them from the cache), Docker reuses that layer instead of storing another copy.
DEPENDENCY_DIRS = (".venv", "node_modules")


def dockerfile_for(
    *,
    base_image: str,
    dependency_dirs: Iterable[str],
    web_command: str | None,
    labels: dict[str, str],
) -> str:
    """Return the Dockerfile of an app image whose context holds deps/ and app/.

    base_image is the run image or the last dependency layer's image. The run image
    already sets WORKDIR /app, HOME and the entrypoint (which sources .profile.d); every
    further instruction costs a container commit, so there are few.
    """
    lines = [f"FROM {base_image}"]
    lines += [f"COPY --chown=app:app deps/{name} /app/{name}" for name in dependency_dirs]
    lines.append("COPY --chown=app:app app /app")
    label_args = " ".join(f"{json.dumps(k)}={json.dumps(v)}" for k, v in labels.items())
    lines.append(f"LABEL {label_args}" if labels else "")
    # One argument: the entrypoint runs it with bash -c, like a Procfile line.
    lines.append(f"CMD {json.dumps([web_command] if web_command else ['bash'])}")
    lines.append("USER app")
    return "\n".join(line for line in lines if line) + "\n"


def _context_name(name: str) -> tuple[str, str | None]:
    """Map a member name of the exported /app ("app/...") to (context name, dep dir)."""
    if in_layer(name, DEPENDENCY_DIRS):
        return "deps/" + name.split("/", 1)[1], name.split("/", 2)[1]
    return name, None


def write_context(
    app_tar: Iterable[bytes],
    *,
    base_image: str,
    web_command: str | None,
    labels: dict[str, str],
    layer_folders: Iterable[str] = (),
):
    """Return (context file, size of /app in bytes) made from the tar stream of /app.

    The folders of layer_folders are left out: base_image holds them.
    """
    layer_folders = set(layer_folders)
    context = tempfile.TemporaryFile()
    dependency_dirs: list[str] = []
    size = 0
    with tarfile.open(fileobj=context, mode="w") as out:
        stream = io.BufferedReader(IterStream(app_tar), buffer_size=1 << 20)
        with tarfile.open(fileobj=stream, mode="r|") as source:
            for member in source:
                if in_layer(member.name, layer_folders):
                    continue
                member.name, dep = _context_name(member.name)
                if member.islnk():
                    member.linkname = _context_name(member.linkname)[0]
                if dep and dep not in dependency_dirs:
                    dependency_dirs.append(dep)
                size += member.size if member.isfile() else 0
                data = source.extractfile(member) if member.isfile() else None
                out.addfile(member, data)
        dockerfile = dockerfile_for(
            base_image=base_image,
            dependency_dirs=dependency_dirs,
            web_command=web_command,
            labels=labels,
        ).encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size, info.mtime = len(dockerfile), int(time.time())
        out.addfile(info, io.BytesIO(dockerfile))
    context.seek(0)
    return context, size


def build_from_context(
    client: docker.DockerClient,
    context,
    *,
    tag: str,
    log: Callable[[str], None],
    limits: BuildLimits,
    labels: dict[str, str] | None = None,
    timeout: float | None = None,
    quiet: bool = True,
) -> str:
    """Run `docker build` on a tar context; return the image id. Errors: BuildFailed.

    For Pier's own Dockerfiles (COPY, LABEL: nothing runs): no network, the build limits.
    """
    image_id = None
    params = {**limits.build_api_params(), "networkmode": "none"}
    try:
        for event in docker_build(
            client, context=context, tag=tag, params=params, labels=labels, timeout=timeout
        ):
            if "error" in event:
                raise BuildFailed(f"docker build failed: {event['error'].strip()}")
            if "aux" in event and "ID" in event["aux"]:
                image_id = event["aux"]["ID"]
            text = event.get("stream", "")
            if not quiet:
                for line in text.splitlines():
                    log(line)
    except docker.errors.APIError as e:
        raise BuildFailed(f"docker build failed: {e.explanation or e}") from e
    if image_id is None:
        image_id = client.images.get(tag).id
    return image_id


def docker_build(
    client: docker.DockerClient,
    *,
    context,
    tag: str,
    params: dict,
    buildargs: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    timeout: float | None = None,
) -> Iterator[dict]:
    """POST /build with a tar context and query params; yield the decoded events.

    docker-py's api.build cannot pass the API's cgroupparent, cpuperiod or cpuquota
    (docker/docker-py#1539), which confinement needs, so this makes the request itself.
    """
    params = {"t": tag, "rm": True, "forcerm": True, "pull": False, **params}
    if buildargs:
        params["buildargs"] = json.dumps(buildargs)
    if labels:
        params["labels"] = json.dumps(labels)
    headers = {"Content-Type": "application/tar"}
    client.api._set_auth_headers(headers)  # FROM an image of a private registry
    response = client.api._post(
        client.api._url("/build"),
        data=context,
        params=params,
        headers=headers,
        stream=True,
        timeout=timeout,
    )
    return client.api._stream_helper(response, decode=True)


def size_text(size: int) -> str:
    for unit in ("B", "K", "M", "G"):
        if size < 1024 or unit == "G":
            return f"{size:.1f}{unit}" if unit != "B" else f"{size}B"
        size /= 1024
    return f"{size}B"
