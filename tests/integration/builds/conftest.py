"""Real builds on a real Docker Engine: the stack images, fixture apps, running containers.

Everything a test makes is labelled or named with this session's id and removed at the end.
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

docker = pytest.importorskip("docker")

from builds.engine import (  # noqa: E402
    DEPENDENCY_LAYERS_LABEL,
    BuildFailed,
    BuildLimits,
    build_image,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "apps"
PORT = 5000
# The defaults of PIER_BUILD_MEMORY, PIER_BUILD_PIDS, PIER_BUILD_CPUS.
LIMITS = BuildLimits(memory_mb=2048, pids=1024, cpus=2)
# Containers are reached by their address on the test network, never through a proxy.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(scope="session")
def session_id() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def made(docker_client, session_id):
    """Collect the images and volumes the session makes; remove them all at the end."""
    things: dict[str, set[str]] = {"images": set(), "volumes": set()}
    yield things
    for container in docker_client.containers.list(
        all=True, filters={"label": f"pier.test={session_id}"}
    ):
        container.remove(force=True)
    for tag in things["images"]:
        try:
            docker_client.images.remove(tag, force=True)
        except docker.errors.ImageNotFound:
            pass
    for name in things["volumes"]:
        try:
            docker_client.volumes.get(name).remove(force=True)
        except docker.errors.NotFound:
            pass


@pytest.fixture(scope="session")
def network(docker_client, session_id):
    net = docker_client.networks.create(f"pier-test-builds-{session_id}", driver="bridge")
    yield net
    net.reload()
    for container in net.containers:
        container.remove(force=True)
    net.remove()


class Builder:
    """Build fixture apps with the engine, remembering what to clean up."""

    def __init__(self, made, session_id: str, tmp_root: Path):
        self.made = made
        self.session_id = session_id
        self.tmp_root = tmp_root
        self.count = 0

    def copy_fixture(self, name: str) -> Path:
        """Return a private copy of a fixture app, for tests that change it."""
        self.count += 1
        target = self.tmp_root / f"{name}-{self.count}"
        shutil.copytree(FIXTURES / name, target, symlinks=True)
        return target

    def build(
        self,
        name: str,
        *,
        source_dir: Path | None = None,
        env=None,
        timeout=900,
        cache_key: str | None = None,
        log=None,
        **kwargs,
    ):
        """Build fixture `name` (or source_dir); return (BuildResult, log lines)."""
        self.count += 1
        app = f"t{self.session_id}-{name}"
        volume = f"pier-test-cache-{self.session_id}-{cache_key or name}"
        tag = f"pier-test/{app}:{self.count}"
        self.made["images"].add(tag)
        self.made["volumes"].add(volume)
        lines: list[str] = []

        def collect(line: str) -> None:
            lines.append(line)
            if log:
                log(line)

        try:
            result = build_image(
                app=app,
                build_id=f"b{self.count}",
                source_dir=source_dir or FIXTURES / name,
                env=env or {},
                image_tag=tag,
                log=collect,
                timeout=timeout,
                cache_volume=volume,
                **{"limits": LIMITS, **kwargs},
            )
            layers = json.loads(result.labels.get(DEPENDENCY_LAYERS_LABEL) or "[]")
            self.made["images"].update(layers)
            return result, lines
        except BuildFailed as e:
            e.log_lines = lines
            raise
        finally:
            print("\n".join(lines))


@pytest.fixture(scope="session")
def builder(stack, made, session_id, tmp_path_factory) -> Builder:
    return Builder(made, session_id, tmp_path_factory.mktemp("apps"))


@pytest.fixture
def run_web(docker_client, network, session_id):
    """Start an image's default (web) process with PORT set; return its HTTP answer body."""
    started = []

    def run(image: str, env: dict[str, str] | None = None, path: str = "/") -> str:
        container = docker_client.containers.run(
            image,
            detach=True,
            network=network.name,
            environment={"PORT": str(PORT), **(env or {})},
            labels={"pier.test": session_id},
        )
        started.append(container)
        return http_get(container, network.name, path)

    yield run
    for container in started:
        container.remove(force=True)


def http_get(container, network: str, path: str = "/", wait: float = 60) -> str:
    """GET http://<container ip>:PORT/path, retrying until the process listens."""
    deadline = time.monotonic() + wait
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        container.reload()
        if container.status == "exited":
            logs = container.logs().decode(errors="replace")
            raise AssertionError(f"the web process exited:\n{logs}")
        ip = container.attrs["NetworkSettings"]["Networks"][network]["IPAddress"]
        try:
            with _DIRECT.open(f"http://{ip}:{PORT}{path}", timeout=5) as response:
                return response.read().decode()
        except OSError as e:
            last_error = e
            time.sleep(0.3)
    logs = container.logs().decode(errors="replace")
    raise AssertionError(f"no HTTP answer within {wait} s ({last_error}); logs:\n{logs}")
