"""Add-on containers (PostgreSQL, Redis...): one container, volume and network per add-on.

Like app processes, add-ons are described by a plain dataclass (:class:`DesiredAddon`) and
converged by :meth:`Addons.converge`, which the runtime calls on every pass: a missing
container is created again from the same volume, a stopped one is started. Docker's own
restart policy (``unless-stopped``) restarts one that dies between passes and after
dockerd restarts.

Everything is keyed by the add-on's id (label ``pier.addon-id``): container and volume
``pier-addon-<id>``, network ``pier-addon-<id>``. The network is an ``internal`` bridge:
it has no route out, and only the add-on and the containers of the apps it is attached
to join it (:attr:`runtime.desired.DesiredApp.networks`), so no other app, build or
host service can reach the add-on, and the add-on itself reaches nothing. Apps on it
could still open connections to the host through the bridge's own address: the same
INPUT rule as the apps' bridge (:func:`runtime.isolation.block_host_access`) closes that.
"""

from __future__ import annotations

import contextlib
import io
import logging
import tarfile
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors
from docker.constants import DEFAULT_DOCKER_API_VERSION as API_VERSION
from docker.types import EndpointConfig

from runtime.docker_engine import LazyClient, _engine
from runtime.errors import BackendUnavailable, EngineError
from runtime.isolation import block_host_access, unblock_host_access

logger = logging.getLogger(__name__)

LABEL = "pier.addon-id"


@dataclass(frozen=True)
class DesiredAddon:
    """One add-on container as it should run."""

    id: str  # hex, keys container, volume and network
    name: str  # e.g. postgresql-curved-12345: the host name apps reach it at
    image: str
    data_path: str  # where its volume is mounted
    memory_mb: int = 256
    command: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)

    @property
    def resource(self) -> str:
        """Name of its container, volume and network."""
        return f"pier-addon-{self.id[:24]}"

    @property
    def bridge(self) -> str:
        """Host interface of its network (at most 15 characters)."""
        return f"pa-{self.id[:12]}"


class Addons:
    """Converge add-on containers; run commands in them (backups, credentials, shells)."""

    client = LazyClient()

    def __init__(self, *, client: docker.DockerClient | None = None,
                 labels: dict[str, str] | None = None, isolate_host: bool = True) -> None:
        self.client = client
        self.labels = dict(labels or {})
        self.isolate_host = isolate_host

    def converge(self, addons: Sequence[DesiredAddon]) -> list[str]:
        """Ensure every add-on runs; return the errors (one add-on's never stops another's)."""
        errors = []
        for addon in addons:
            try:
                self.ensure(addon)
            except (EngineError, BackendUnavailable) as e:
                errors.append(f"add-on {addon.name}: {e}")
        return errors

    def ensure(self, addon: DesiredAddon) -> None:
        """Create what is missing of the add-on (network, volume, container) and start it."""
        self.ensure_network(addon)
        with _engine():
            try:
                container = self.client.containers.get(addon.resource)
            except docker.errors.NotFound:
                container = self._create(addon)
            if container.status != "running":
                container.start()

    def ensure_network(self, addon: DesiredAddon) -> None:
        with _engine():
            try:
                self.client.networks.get(addon.resource)
            except docker.errors.NotFound:
                self.client.networks.create(
                    addon.resource, driver="bridge", internal=True,
                    labels={**self.labels, LABEL: addon.id},
                    options={"com.docker.network.bridge.name": addon.bridge},
                )
        if self.isolate_host:
            block_host_access(addon.bridge)

    def _create(self, addon: DesiredAddon):
        try:  # a container lost (removed by hand, say) comes back on the same data
            self.client.volumes.get(addon.resource)
        except docker.errors.NotFound:
            self.client.volumes.create(addon.resource, labels={**self.labels, LABEL: addon.id})
        return self.client.containers.create(
            addon.image,
            command=list(addon.command) or None,
            name=addon.resource,
            labels={**self.labels, LABEL: addon.id, "pier.addon": addon.name},
            environment=addon.env,
            volumes={addon.resource: {"bind": addon.data_path, "mode": "rw"}},
            mem_limit=f"{addon.memory_mb}m",
            memswap_limit=f"{addon.memory_mb}m",
            # PostgreSQL's parallel queries share memory through /dev/shm: Docker's 64 MB
            # would fail them on a large plan. Its pages count against mem_limit anyway.
            shm_size=f"{addon.memory_mb // 4}m",
            restart_policy={"Name": "unless-stopped"},
            security_opt=["no-new-privileges"],
            network=addon.resource,
            # Apps find it by its add-on name on its network; nothing else resolves that name.
            networking_config={addon.resource: EndpointConfig(API_VERSION, aliases=[addon.name])},
            detach=True,
        )

    def recreate(self, addon: DesiredAddon) -> None:
        """Make its container again from ``addon`` (a new command), on the same volume."""
        with _engine(), contextlib.suppress(docker.errors.NotFound):
            self.client.api.remove_container(addon.resource, force=True)
        self.ensure(addon)

    def remove(self, addon: DesiredAddon) -> None:
        """Remove the add-on's container, network and volume (its data): the caller confirmed."""
        with _engine():
            with contextlib.suppress(docker.errors.NotFound):
                self.client.api.remove_container(addon.resource, force=True)
            with contextlib.suppress(docker.errors.NotFound):
                network = self.client.networks.get(addon.resource)
                network.reload()
                for container in network.containers:  # app processes still attached
                    with contextlib.suppress(docker.errors.APIError):
                        network.disconnect(container, force=True)
                network.remove()
            with contextlib.suppress(docker.errors.NotFound):
                self.client.volumes.get(addon.resource).remove(force=True)
        if self.isolate_host:
            unblock_host_access(addon.bridge)

    def exec(self, addon: DesiredAddon, argv: Sequence[str], *,
             stdout: io.BufferedIOBase | None = None) -> tuple[int, str]:
        """Run argv in the add-on's container; return (exit code, stderr + unwritten stdout).

        With ``stdout`` (a binary file) the output streams there instead, chunk by chunk.
        """
        with _engine():
            exec_id = self.client.api.exec_create(addon.resource, list(argv), stdout=True,
                                                  stderr=True)["Id"]
            messages = bytearray()
            for out, err in self.client.api.exec_start(exec_id, stream=True, demux=True):
                if out:
                    stdout.write(out) if stdout else messages.extend(out)
                if err:
                    messages.extend(err)
            code = self.client.api.exec_inspect(exec_id)["ExitCode"]
        return int(code if code is not None else -1), messages.decode(errors="replace")

    def put_file(self, addon: DesiredAddon, source: Path, directory: str) -> str:
        """Copy a host file into the container's directory; return its path in there."""
        # The tar goes through a file beside the source, not memory: backups reach gigabytes.
        with tempfile.TemporaryFile(dir=source.parent) as buffer:
            with tarfile.open(fileobj=buffer, mode="w") as tar:
                info = tar.gettarinfo(str(source), arcname=source.name)
                info.uid = info.gid = 0
                info.mode = 0o644
                with source.open("rb") as f:
                    tar.addfile(info, f)
            buffer.seek(0)
            with _engine():
                self.client.api.put_archive(addon.resource, directory, buffer)
        return f"{directory.rstrip('/')}/{source.name}"

    def wait_until(self, addon: DesiredAddon, argv: Sequence[str], timeout: float) -> None:
        """Run argv in the container until it exits 0; EngineError after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        last = ""
        while True:
            try:
                code, last = self.exec(addon, argv)
                if code == 0:
                    return
            except EngineError as e:  # not running yet
                last = str(e)
            if time.monotonic() > deadline:
                raise EngineError(f"{addon.name} did not get ready within {timeout:g}s: "
                                  f"{last.strip()[-300:]}")
            time.sleep(0.3)

    def running(self, addon: DesiredAddon) -> bool:
        with _engine():
            try:
                return self.client.containers.get(addon.resource).status == "running"
            except docker.errors.NotFound:
                return False
