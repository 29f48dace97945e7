"""Fixtures shared by every suite: users with real API tokens, a client, a real Redis."""

import contextlib
import os
import socket
import tarfile
import threading
import time
import types
from datetime import timedelta
from pathlib import Path

import pytest
import uvicorn
from rest_framework.test import APIClient

from tests.helpers import accepts_connections, redis_server

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "apps"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The real hasher costs ~0.3 s a user; tests make many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def make_user(db):
    from api.services.tokens import token_create, user_create

    def make(email: str = "owner@example.com", password: str | None = "correct-horse-9"):
        user = user_create(email=email, password=password)
        _, token = token_create(user=user, name="test")
        user.plaintext_token = token
        return user

    return make


@pytest.fixture
def user(make_user):
    return make_user()


@pytest.fixture
def client_for():
    def make(user) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {user.plaintext_token}")
        return client

    return make


@pytest.fixture
def api(user, client_for) -> APIClient:
    return client_for(user)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """Return REDIS_URL when set, else the URL of a redis-server child started for the tests."""
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def redis_client(redis_url, settings):
    from pier.redis import get_redis

    settings.REDIS_URL = redis_url
    get_redis.cache_clear()
    client = get_redis()
    yield client
    get_redis.cache_clear()


@pytest.fixture
def asgi_server(redis_client, transactional_db):
    """Serve Django's ASGI app with uvicorn in a thread (live_server is WSGI: no streaming)."""
    from pier.asgi import application

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        application,
        lifespan="off",
        log_level="warning",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture(scope="session")
def docker_client():
    """Return a client of the Docker Engine; skip the test where there is none."""
    import docker

    try:
        client = docker.from_env()
        client.ping()
    except Exception as e:  # any failure means "no engine here"
        pytest.skip(f"Docker Engine not available: {e}")
    return client


@pytest.fixture(scope="session")
def stack(docker_client):
    """Build the stack images once (minutes the first time on a machine, then instant)."""
    from builds.engine import ensure_stack_images

    ensure_stack_images(progress=lambda line: print(line, flush=True))


# psql and redis-cli on a shell: what an app with both clients would run (add-on tests).
ADDON_CLIENT_IMAGE = "pier-test/addon-client:1"
ADDON_CLIENT_DOCKERFILE = b"""FROM pier/service-postgresql:latest
RUN apt-get update && apt-get install -y --no-install-recommends redis-tools \\
 && rm -rf /var/lib/apt/lists/*
ENTRYPOINT []
"""


@pytest.fixture(scope="session")
def service_images(docker_client, stack):
    """Build the add-on service images and a client image; return the client image's tag."""
    import io

    import docker

    from addons.images import ensure_service_image

    for service in ("postgresql", "redis"):
        ensure_service_image(service)
    try:
        docker_client.images.get(ADDON_CLIENT_IMAGE)
    except docker.errors.ImageNotFound:
        docker_client.images.build(fileobj=io.BytesIO(ADDON_CLIENT_DOCKERFILE),
                                   tag=ADDON_CLIENT_IMAGE, rm=True, pull=False)
    return ADDON_CLIENT_IMAGE


@pytest.fixture
def platform_label(settings, tmp_path, docker_client, service_images):
    """A platform id of this test's own; everything labelled with it (add-on containers,
    networks, volumes, iptables rules) is removed afterwards."""
    import uuid

    from tests.helpers import remove_platform_resources

    label = f"addt{uuid.uuid4().hex[:8]}"
    settings.PIER_PLATFORM_ID = label
    settings.PIER_DATA_DIR = tmp_path
    # Provisioning and restores are Celery tasks: here they run in the test, as they commit
    # (tests/e2e/test_addons.py has the platform's real worker run them).
    settings.CELERY_TASK_ALWAYS_EAGER = True
    yield label
    remove_platform_resources(docker_client, label)


@pytest.fixture
def deployed(settings, tmp_path):
    """Return a factory recording a successful build with process types, as a deploy does.

    The app's owner pushes it. It writes no image: what it proves stops at the database
    (tests/e2e pushes for real, with the fixture ``pushed``).
    """
    from django.utils import timezone

    from api.models import App, Build
    from api.selectors import config_current
    from api.services.releases import release_create
    from builds.paths import build_output_path

    settings.PIER_BUILDS_DIR = tmp_path / "builds"

    def deploy(app_name: str, process_types: dict | None = None, sha: str = "1a2b3c4d5e6f"):
        app = App.objects.get(name=app_name)
        build = Build.objects.create(
            app=app,
            status=Build.Status.SUCCEEDED,
            source_sha=sha,
            buildpack="python",
            process_types=process_types or {"web": "gunicorn app:app", "worker": "celery worker"},
            image=f"pier/{app_name}:{sha}",
            creator=app.owner,
            started_at=timezone.now() - timedelta(seconds=83),
            finished_at=timezone.now(),
        )
        path = build_output_path(build)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "-----> Python app detected\n-----> Installing requirements with pip\n"
            "       Successfully installed flask gunicorn\n-----> Discovering process types\n"
            "       Procfile declares types -> web, worker\n"
        )
        return release_create(
            app=app,
            build=build,
            config=config_current(app=app),
            description=f"Deploy {sha[:7]}",
            user=app.owner,
        )

    return deploy


@pytest.fixture(scope="session")
def swarm_cluster():
    """A real 3-node Swarm with a registry on this machine (:mod:`tests.swarm_cluster`)."""
    from tests.swarm_cluster import cluster

    yield from cluster()


@pytest.fixture(scope="session")
def swarm_image(swarm_cluster):
    """The busybox test image on every node of the cluster (no registry involved)."""
    from tests.helpers import busybox_tar

    image = "pier/test-busybox:1"
    swarm_cluster.import_everywhere(busybox_tar("/bin/busybox"), image, ['CMD ["/bin/sh"]'])
    return image


@pytest.fixture
def pier_registry(asgi_server, settings, tmp_path, docker_client):
    """Run Pier's registry (`manage.py registry`, the real process) with tokens from the
    control plane served by ``asgi_server``; yield its ``setup`` (RegistrySetup),
    ``process`` and ``log`` (path).

    Docker allows plain HTTP to registries on 127.0.0.0/8, so no TLS is needed here.
    """
    import subprocess
    import sys

    import docker

    from registry.config import registry_setup
    from tests.helpers import free_port, wait_for

    settings.PIER_REGISTRY = f"127.0.0.1:{free_port()}"
    settings.PIER_DATA_DIR = tmp_path / "data"
    settings.PIER_PUBLIC_URL = asgi_server
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PIER_REGISTRY": settings.PIER_REGISTRY,
           "PIER_DATA_DIR": str(settings.PIER_DATA_DIR), "PIER_API_URL": asgi_server,
           "REDIS_URL": settings.REDIS_URL}  # where collections are asked for
    log = open(tmp_path / "registry.log", "wb")  # noqa: SIM115 (closed at teardown)
    process = subprocess.Popen([sys.executable, str(root / "manage.py"), "registry"], env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    setup = registry_setup()
    host, port = setup.address.split(":")

    def listening() -> bool:
        assert process.poll() is None, (tmp_path / "registry.log").read_text()
        return accepts_connections(int(port), host)

    try:
        wait_for(listening, 120, "the registry to listen")  # slow on a loaded machine
        yield types.SimpleNamespace(setup=setup, process=process, log=tmp_path / "registry.log")
    finally:
        process.terminate()  # it stops its docker-registry child
        process.wait(30)
        log.close()
    # The low-level listing: images.list() inspects each image, and other tests on this
    # engine remove theirs meanwhile.
    for image in docker_client.api.images():
        for tag in image.get("RepoTags") or []:
            if tag.startswith(f"{setup.address}/"):
                with contextlib.suppress(docker.errors.ImageNotFound):
                    docker_client.images.remove(tag, force=True)


@pytest.fixture
def real_build(user, redis_client, settings, tmp_path, docker_client, stack):
    """Return a function running a real build (buildpacks, image, release) of source files.

    Every app's images (built or promoted) and containers are removed at the end.
    """
    import docker

    from api.models import App, Build
    from builds import images
    from builds import services as build_services
    from builds.paths import build_dir

    settings.PIER_BUILDS_DIR = tmp_path / "builds"

    def build(app_name: str, files: dict[str, str], base: str = "procfile-only") -> Build:
        app = App.objects.get(name=app_name)
        record = Build.objects.create(app=app, creator=user, source_sha="c0ffee" + "0" * 34)
        build_dir(record).mkdir(parents=True)
        source = tmp_path / f"src-{record.id}"
        source.mkdir()
        for path in (FIXTURES / base).iterdir():
            (source / path.name).write_bytes(path.read_bytes())
        for name, text in files.items():
            (source / name).write_text(text)
        with tarfile.open(build_dir(record) / "source.tar", "w") as tar:
            tar.add(source, arcname=".")
        redis_client.set(build_services.listener_key(record.id), "1")
        return build_services.build_run(build_id=record.id)

    yield build
    apps = list(App.objects.all())
    for attempt in range(20):  # a runtime's stop of an old process may still be under way
        try:
            for app in apps:
                for container in docker_client.containers.list(
                        all=True, filters={"label": f"pier.app-id={app.id}"}):
                    container.remove(force=True)
            for app in apps:
                images.purge(app_id=app.id)
            break
        except docker.errors.APIError:
            if attempt == 19:
                raise
            time.sleep(0.5)
