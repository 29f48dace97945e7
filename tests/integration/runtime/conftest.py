"""Real Docker, real Caddy: a tiny busybox image, a caddy on a free port, labelled cleanup."""

from __future__ import annotations

import io
import os
import shutil
import socket
import tarfile
import uuid

import pytest

docker = pytest.importorskip("docker")

from rt_helpers import IMAGE  # noqa: E402

from runtime.backends.docker import Backend  # noqa: E402
from runtime.reconciler import Reconciler  # noqa: E402
from runtime.router.caddy import Router, start_caddy  # noqa: E402

APPLETS = ("sh", "httpd", "nc", "sleep", "echo", "cat", "ls", "kill", "true", "id", "wget")


def _busybox_tar(busybox: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, mode in (("bin", 0o755), ("tmp", 0o1777), ("www", 0o755)):
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, mode
            tar.addfile(info)
        tar.add(busybox, arcname="bin/busybox")
        for applet in APPLETS:
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type, info.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(info)
        page = b"hello from busybox\n"
        info = tarfile.TarInfo("www/index.html")
        info.size, info.mode = len(page), 0o644
        tar.addfile(info, io.BytesIO(page))
    return buffer.getvalue()


@pytest.fixture(scope="session")
def docker_client():
    try:
        client = docker.from_env()
        client.ping()
    except Exception as e:  # noqa: BLE001 - any failure means "no engine here"
        pytest.skip(f"Docker Engine not available: {e}")
    return client


@pytest.fixture(scope="session")
def test_image(docker_client):
    """Import a one-binary busybox image once; idempotent across sessions."""
    try:
        docker_client.images.get(IMAGE)
        return IMAGE
    except docker.errors.ImageNotFound:
        pass
    busybox = shutil.which("busybox") or "/bin/busybox"
    if not os.path.exists(busybox):
        pytest.skip("needs a static busybox on the host: apt-get install busybox-static")
    repository, tag = IMAGE.split(":")
    docker_client.api.import_image_from_data(
        _busybox_tar(busybox),
        repository=repository,
        tag=tag,
        changes=['CMD ["/bin/sh"]'],
    )
    return IMAGE


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def caddy(tmp_path_factory):
    """A real caddy on free loopback ports; yields (admin address, HTTP port, log path)."""
    tmp = tmp_path_factory.mktemp("caddy")
    admin, port = f"127.0.0.1:{free_port()}", free_port()
    access_log = str(tmp / "access.log")
    log = open(tmp / "caddy.log", "wb")  # noqa: SIM115 - closed at teardown
    process = start_caddy(
        tmp / "caddy.json",
        admin=admin,
        listen=f"127.0.0.1:{port}",
        access_log=access_log,
        stdout=log,
        stderr=log,
    )
    yield admin, port, access_log
    process.terminate()
    process.wait(10)
    log.close()


@pytest.fixture(scope="session")
def session_label():
    return uuid.uuid4().hex[:8]


@pytest.fixture
def backend(docker_client, test_image, session_label):
    backend = Backend(
        client=docker_client,
        labels={"pier.test": session_label},
        name_prefix=f"pier-test-{session_label}-",
    )
    yield backend
    remove_labelled(docker_client, session_label)


def remove_labelled(client, label: str) -> None:
    for container in client.containers.list(all=True, filters={"label": f"pier.test={label}"}):
        container.remove(force=True)


@pytest.fixture(scope="session", autouse=True)
def _cleanup_session(session_label):
    yield
    try:
        remove_labelled(docker.from_env(), session_label)
    except Exception:  # noqa: BLE001 - nothing to clean without an engine
        pass


@pytest.fixture
def router(caddy):
    admin, port, access_log = caddy
    return Router(admin=admin, listen=f"127.0.0.1:{port}", access_log=access_log, refresh=0)


@pytest.fixture
def events():
    return []


@pytest.fixture
def reconciler(backend, router, events):
    return Reconciler(backend, router, events=events.append, domain="localhost")
