"""Dependency layers: folders of /app made from an app's dependency files alone.

A buildpack declares one by a line in PIER_OUT_DIR/layers: the folder of /app (`.venv`),
where the build container holds its content (the cache volume, /app having only a link to
it), and a key that changes whenever what made it changes (the hash of requirements.txt
and its includes, the Python version...). Each becomes an image of its own, FROM the run
image or the layer before, tagged in the app's repository by its key: a build whose keys
are unchanged reuses those images and exports only the app's code.

The tags are per app (its image repository is named by its id): a layer one app's build
declares, whatever it holds, is never the base of another app's image.
"""

import hashlib
import io
import re
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass

from .container import IterStream
from .errors import BuildFailed

TAG_PREFIX = "deps-"
_FOLDER = re.compile(r"(?!\.\.?$)[A-Za-z0-9_.][A-Za-z0-9_.-]*")  # not . or ..


@dataclass(frozen=True)
class DependencyLayer:
    folder: str  # in /app, e.g. ".venv"
    source: str  # its content in the build container, e.g. "/cache/python/venv"
    parent: str  # the image it is built FROM
    tag: str  # the image: parent + this folder, named by the key, the folder and the parent


def plan_layers(declared: str, *, repository: str, run_image: str, run_image_id: str):
    """Return the DependencyLayer list of a PIER_OUT_DIR/layers text, in order.

    Each tag hashes the key with the folder and its parent (the run image by id): a new
    stack image or a changed layer below gives new tags above. Raise BuildFailed on a line
    that is not `folder<TAB>/absolute/source<TAB>key`.
    """
    layers: list[DependencyLayer] = []
    parent, parent_identity = run_image, run_image_id
    for line in declared.splitlines():
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 3 or not _valid(*fields):
            raise BuildFailed(
                f"A buildpack declared a malformed dependency layer {line!r}: "
                "expected `folder<TAB>/absolute/path<TAB>key`, the folder a name in /app."
            )
        folder, source, key = fields
        if any(layer.folder == folder for layer in layers):
            raise BuildFailed(f"A buildpack declared the dependency layer {folder} twice.")
        digest = hashlib.sha256(f"{parent_identity}\n{folder}\n{key}".encode()).hexdigest()
        tag = f"{repository}:{TAG_PREFIX}{digest[:24]}"
        layers.append(DependencyLayer(folder, source, parent, tag))
        parent = parent_identity = tag
    return layers


def _valid(folder: str, source: str, key: str) -> bool:
    return (
        bool(_FOLDER.fullmatch(folder))
        and source.startswith("/")
        and ".." not in source.split("/")
        and bool(key.strip())
    )


def in_layer(name: str, folders: Iterable[str]) -> bool:
    """Whether a member of the exported /app ("app/...") is, or is in, a layer's folder."""
    parts = name.split("/", 2)
    return len(parts) >= 2 and parts[1] in folders


def layer_context(content: Iterable[bytes], layer: DependencyLayer):
    """Return a docker build context (a file) making layer from the tar stream of its source.

    The stream's names start with the source's last component; they become deps/<folder>.
    """
    context = tempfile.TemporaryFile()
    with tarfile.open(fileobj=context, mode="w") as out:
        stream = io.BufferedReader(IterStream(content), buffer_size=1 << 20)
        with tarfile.open(fileobj=stream, mode="r|") as source:
            for member in source:
                member.name = _renamed(member.name, layer.folder)
                if member.islnk():
                    member.linkname = _renamed(member.linkname, layer.folder)
                out.addfile(member, source.extractfile(member) if member.isfile() else None)
        dockerfile = (
            f"FROM {layer.parent}\nCOPY --chown=app:app deps/{layer.folder} /app/{layer.folder}\n"
        ).encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        out.addfile(info, io.BytesIO(dockerfile))
    context.seek(0)
    return context


def _renamed(name: str, folder: str) -> str:
    rest = name.split("/", 1)[1] if "/" in name else ""
    return f"deps/{folder}/{rest}" if rest else f"deps/{folder}"
