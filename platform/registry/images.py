"""Images in and out of Pier's registry, through the local Docker Engine and the registry's API.

Pier presents tokens it signs itself: to Docker as `registrytoken` (the engine sends it
as is, with no login), to the registry's HTTP API as a bearer token.
"""

import contextlib
import logging

import docker
import httpx
from docker.errors import APIError, ImageNotFound, NotFound

from registry.config import RegistrySetup, registry_setup
from registry.services import platform_token

log = logging.getLogger(__name__)
MANIFEST_TYPES = ", ".join([
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
])


class RegistryUnavailable(Exception):
    """The registry could not be reached or refused Pier; the message says what to do."""


def _auth(repository: str, actions: list[str]) -> dict:
    return {"registrytoken": platform_token(repository=repository, actions=actions)}


def pull_auth(image: str) -> dict | None:
    """The credential an engine pulls ``image`` (`host/repo@digest`) with: a token of
    Pier's granting pull on that repository alone; None for an image of no registry of Pier's.
    """
    setup = registry_setup()
    if setup is None or not image.startswith(f"{setup.address}/"):
        return None
    repository = image.removeprefix(f"{setup.address}/").partition("@")[0]
    return _auth(repository, ["pull"])


def image_push(setup: RegistrySetup, *, image: str, repository: str, tag: str) -> str:
    """Push local ``image`` as ``repository:tag``; return its pullable `host/repo@digest`."""
    client = docker.from_env()
    target = f"{setup.address}/{repository}"
    client.images.get(image).tag(target, tag)
    digest = None
    try:
        for event in client.images.push(target, tag=tag, stream=True, decode=True,
                                        auth_config=_auth(repository, ["pull", "push"])):
            if "error" in event:
                raise RegistryUnavailable(_unreachable(setup, event["error"]))
            digest = (event.get("aux") or {}).get("Digest", digest)
    except APIError as e:
        raise RegistryUnavailable(_unreachable(setup, e.explanation or str(e))) from e
    finally:  # the pier/<app id> tag keeps the image
        with contextlib.suppress(ImageNotFound):
            client.images.remove(f"{target}:{tag}")
    if digest is None:
        raise RegistryUnavailable(_unreachable(setup, "the push reported no digest"))
    return f"{target}@{digest}"


def image_pull(setup: RegistrySetup, *, repository: str, reference: str,
               local_tag: str) -> tuple[dict, str]:
    """Pull ``repository`` at tag or digest ``reference`` into the engine as ``local_tag``;
    return the image's config (Cmd, Env...) and its pullable `host/repo@digest`.

    Raise LookupError when the registry has no such image.
    """
    client = docker.from_env()
    source = f"{setup.address}/{repository}"
    try:
        image = client.images.pull(source, tag=reference, auth_config=_auth(repository, ["pull"]))
    except (ImageNotFound, NotFound) as e:
        raise LookupError(f"{repository}:{reference} is not in Pier's registry") from e
    except APIError as e:
        raise RegistryUnavailable(_unreachable(setup, e.explanation or str(e))) from e
    image.tag(*local_tag.rsplit(":", 1))
    if not reference.startswith("sha256:"):  # the app's own name keeps the image
        client.images.remove(f"{source}:{reference}")
    digest = next(d for d in image.attrs["RepoDigests"] if d.startswith(f"{source}@"))
    return image.attrs["Config"], digest


def manifest_delete(setup: RegistrySetup, *, reference: str) -> None:
    """Delete the manifest of a `host/repo@digest` reference (gone already: fine).

    Its blobs stay on disk until a garbage collection (registry.collection).
    """
    path, _, digest = reference.removeprefix(f"{setup.address}/").partition("@")
    token = platform_token(repository=path, actions=["delete"])
    try:
        response = httpx.delete(f"http://{setup.address}/v2/{path}/manifests/{digest}",
                                headers={"Authorization": f"Bearer {token}",
                                         "Accept": MANIFEST_TYPES}, timeout=10)
    except httpx.HTTPError as e:
        log.warning("registry: could not delete %s: %s", reference, e)
        return
    if response.status_code not in (202, 404):
        log.warning("registry: deleting %s answered %s: %s", reference, response.status_code,
                    response.text[:200])


def _unreachable(setup: RegistrySetup, detail: str) -> str:
    return (f"Pier's registry at {setup.address} refused or could not take the image "
            f"({detail.strip()}). Is the `registry` process running? Push again when it is.")
