"""The release phase: the `release:` process of a new image, run once before it goes live."""

from collections.abc import Callable, Mapping

import docker
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import ReadTimeout


def run(
    *, image: str, command: str, env: Mapping[str, str], log: Callable[[str], None], timeout: int
) -> int:
    """Run command in a one-off container of image with the app's config; return its exit code."""
    client = docker.from_env()
    container = client.containers.run(
        image,
        command=["sh", "-c", command],
        environment={**env, "DYNO": "release.1"},
        labels={"pier.process": "release"},
        mem_limit="512m",
        pids_limit=256,
        detach=True,
    )
    try:
        for chunk in container.logs(stream=True, follow=True):
            for line in chunk.decode("utf-8", "replace").splitlines():
                log(f"       {line}")
        return container.wait(timeout=timeout)["StatusCode"]
    except (ReadTimeout, RequestsConnectionError):
        log(f" !     Release command ran longer than {timeout} s and was stopped")
        return 124
    finally:
        container.remove(force=True)
