"""Reaching the Docker Engine: its failures as the runtime's errors, and a client made on
first use, shared by the Docker backend (and so Swarm's) and the add-on containers."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import docker
import docker.errors
import requests.exceptions

from runtime.errors import BackendUnavailable, EngineError


@contextlib.contextmanager
def _engine() -> Iterator[None]:
    """Turn "the daemon is not there" into BackendUnavailable, whatever the SDK raises."""
    try:
        yield
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as e:
        raise BackendUnavailable(f"Docker daemon unreachable: {e}") from e
    except docker.errors.APIError as e:
        if e.status_code == 503:
            raise BackendUnavailable(f"Docker daemon unavailable: {e}") from e
        raise EngineError(f"Docker: {e.explanation or e}") from e
    except docker.errors.DockerException as e:
        raise BackendUnavailable(f"Docker daemon unavailable: {e}") from e


class LazyClient:
    """A ``client`` attribute: the Docker client the object was given, else one for
    DOCKER_HOST or the local socket, made when first used. Making the object needs no
    daemon; a missing one is a BackendUnavailable where the client is first used."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.field = f"_{name}"

    def __get__(self, instance, owner=None) -> docker.DockerClient:
        if instance is None:
            return self
        client = instance.__dict__.get(self.field)
        if client is None:
            with _engine():
                client = docker.from_env()
            self.__set__(instance, client)
        return client

    def __set__(self, instance, client: docker.DockerClient | None) -> None:
        instance.__dict__[self.field] = client
