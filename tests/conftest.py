"""Fixtures shared by every suite: users with real API tokens, a client, a real Redis."""

import os
import socket
import threading
import time
from datetime import timedelta

import pytest
import uvicorn
from rest_framework.test import APIClient

from tests.helpers import redis_server


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
