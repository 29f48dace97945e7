"""Where build code runs: untrusted, so with limits, no privileges, and a network of its own.

Buildpacks run in a build container as a non-root user with no capabilities and
no-new-privileges. Dockerfile builds run `RUN` steps as the Dockerfile says (Docker's
classic builder takes no user or capability options), but with the same memory, process
and CPU limits and on the same network. That network, `pier-builds`, is a bridge with
inter-container traffic disabled (one build cannot reach another) whose containers cannot
open connections to the host nor reach link-local metadata addresses (runtime.isolation);
Docker drops traffic between bridges, so the apps' network is out of reach too. The
internet (package registries, a proxy on another machine) is reachable. Anything that
cannot be put in place fails the build.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.errors import APIError

from runtime.errors import IsolationError
from runtime.isolation import isolate_bridge

from .errors import BuildFailed

BUILD_USER = "1000:1000"  # the run image's `app`; buildpacks need no root
NETWORK = "pier-builds"
BRIDGE = "pierbuild0"
CGROUP_FS = Path("/sys/fs/cgroup")
CGROUP_GROUP = "pier-builds"
CPU_PERIOD_US = 100_000


class IsolationUnavailable(BuildFailed):
    """A confinement the build needs could not be applied: the build does not run."""


@dataclass(frozen=True)
class BuildLimits:
    memory_mb: int
    pids: int
    cpus: float
    isolate: bool = True  # False only with PIER_UNSAFE_NO_ISOLATION (development)

    def describe(self) -> str:
        return (
            f"{self.memory_mb} MB of memory, {self.pids} processes, {self.cpus:g} CPUs "
            "(PIER_BUILD_MEMORY, PIER_BUILD_PIDS, PIER_BUILD_CPUS)"
        )

    def usable_cpus(self) -> float:
        """Return cpus, at most the machine's CPU count (Docker refuses more)."""
        return min(self.cpus, float(os.cpu_count() or 1))

    def container_options(self) -> dict:
        """Return containers.create() arguments for a buildpack build container."""
        memory = f"{self.memory_mb}m"
        return dict(
            user=BUILD_USER,
            mem_limit=memory,
            memswap_limit=memory,  # no swap: over the limit is an OOM kill
            pids_limit=self.pids,
            nano_cpus=int(self.usable_cpus() * 1e9),
            security_opt=["no-new-privileges"],
            cap_drop=["ALL"],
        )

    def build_api_params(self) -> dict:
        """Return the query parameters of Docker's build API limiting each step container.

        The API has no pids limit: BuildCgroup supplies that.
        """
        memory = self.memory_mb * 1024 * 1024
        quota = int(self.usable_cpus() * CPU_PERIOD_US)
        return {"memory": memory, "memswap": memory, "cpuperiod": CPU_PERIOD_US, "cpuquota": quota}


def ensure_build_network(client: docker.DockerClient, *, isolate: bool = True) -> str:
    """Create the build network unless it exists, put its kernel rules in place; return it.

    isolate=False (PIER_UNSAFE_NO_ISOLATION, development only) skips the kernel rules.
    """
    try:
        network = _build_network(client)
    except APIError as e:
        raise IsolationUnavailable(
            f"Could not create the build network {NETWORK}: {e.explanation or e}"
        ) from e
    options = network.attrs.get("Options") or {}
    iface = options.get("com.docker.network.bridge.name") or f"br-{network.id[:12]}"
    if not isolate:
        return NETWORK
    try:
        isolate_bridge(iface)
    except IsolationError as e:
        raise IsolationUnavailable(
            f"Could not keep builds on {iface} away from this machine's services and metadata "
            f"addresses, so the build was not run: {e}"
        ) from e
    return NETWORK


def _build_network(client: docker.DockerClient):
    for attempt in range(2):
        found = [n for n in client.networks.list(names=[NETWORK]) if n.name == NETWORK]
        if found:
            return found[0]
        try:
            network = client.networks.create(
                NETWORK,
                driver="bridge",
                check_duplicate=True,
                labels={"pier.network": "builds"},
                options={
                    "com.docker.network.bridge.name": BRIDGE,
                    "com.docker.network.bridge.enable_icc": "false",
                },
            )
        except APIError as e:
            if e.status_code == 409 and attempt == 0:
                continue  # another worker created it just now
            raise
        network.reload()
        return network
    raise AssertionError("unreachable")


class BuildCgroup:
    """The cgroup parent of one Dockerfile build's containers, holding its process limit.

    Docker's classic build API limits memory and CPU but not processes: its RUN step
    containers go under this parent, whose pids.max bounds all of them. It needs the
    worker on the Docker host, as root, and Docker's cgroupfs driver.
    """

    def __init__(self, name: str, limits: BuildLimits, *, root: Path = CGROUP_FS):
        self.parent = f"/{CGROUP_GROUP}/{name}"
        self._limits = limits
        self._root = root
        self._v2 = (root / "cgroup.controllers").exists()

    def _dir(self, controller: str) -> Path:
        base = self._root if self._v2 else self._root / controller
        return base / self.parent.lstrip("/")

    def __enter__(self) -> BuildCgroup:
        try:
            if self._v2:
                self._enable_v2_controllers()
            _write(self._dir("pids") / "pids.max", str(self._limits.pids))
        except OSError as e:
            self.__exit__()
            raise IsolationUnavailable(
                f"Could not limit the Dockerfile build's processes ({e}). Dockerfile "
                "builds need the worker on the Docker host, as root, with Docker's cgroupfs "
                "driver; the build was not run."
            ) from e
        return self

    def _enable_v2_controllers(self) -> None:
        group = self._root / CGROUP_GROUP
        for parent in (group, self._dir("pids")):
            parent.mkdir(exist_ok=True)
        for parent in (self._root, group, self._dir("pids")):
            _write(parent / "cgroup.subtree_control", "+pids", mkdir=False)

    def __exit__(self, *exc_info) -> None:
        dirs = (
            [self._dir("")]
            if self._v2
            else [d / self.parent.lstrip("/") for d in self._root.iterdir() if d.is_dir()]
        )
        for path in dirs:
            with contextlib.suppress(OSError):  # absent, or a step container still there
                path.rmdir()

    def pids_exhausted(self) -> bool:
        """Whether the build reached its process limit (so a fork was refused)."""
        folder = self._dir("pids")
        # pids.events counts refusals in the forking task's own cgroup on cgroup v1, and
        # a step container's cgroup is gone once it failed: the peak here tells instead.
        with contextlib.suppress(OSError, ValueError):
            return int((folder / "pids.peak").read_text()) >= self._limits.pids
        try:
            events = (folder / "pids.events").read_text().split()
        except OSError:
            return False
        return len(events) == 2 and events[1] != "0"


def _write(path: Path, value: str, *, mkdir: bool = True) -> None:
    if mkdir:
        path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(value)


@contextlib.contextmanager
def dockerfile_build_options(
    client: docker.DockerClient, *, name: str, limits: BuildLimits
) -> Iterator[tuple[dict, BuildCgroup]]:
    """Yield (build API parameters, the build's cgroup) for a confined Dockerfile build."""
    driver = client.info().get("CgroupDriver", "")
    if driver != "cgroupfs":
        raise IsolationUnavailable(
            f"Dockerfile builds need Docker's cgroupfs cgroup driver to limit their processes; "
            f"this Docker Engine uses {driver or 'an unknown driver'}. The build was not run."
        )
    network = ensure_build_network(client, isolate=limits.isolate)
    with BuildCgroup(name, limits) as cgroup:
        params = {"networkmode": network, "cgroupparent": cgroup.parent}
        yield {**limits.build_api_params(), **params}, cgroup
