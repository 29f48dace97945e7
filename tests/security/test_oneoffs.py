"""Finding 4: detached `pier run` shared the build queue, so two sleepers blocked every push.

Real parts: the API served by uvicorn, Celery workers consuming real Redis queues (one on the
build queue, one on the one-off queue, as the Procfile's `worker` and `oneoff` run), and real
containers of the stack run image.
"""

import threading
import time
from contextlib import suppress

import httpx
import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings as django_settings

from api.models import App, Build
from api.services.apps import app_create
from builds.tasks import build_run_task
from pier.celery import app as celery_app
from tests.helpers import celery_broker, redis_server, wait_for

IMAGE = "pier/stack-run:latest"
pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("stack")]


@pytest.fixture
def sleeper_app(user, deployed):
    """An app whose release runs the stack's run image (which has `sleep`)."""
    app_create(user=user, name="sleepy")
    release = deployed("sleepy", {"web": "sleep 1000"})
    Build.objects.filter(pk=release.build_id).update(image=IMAGE)
    return "sleepy"


@pytest.fixture
def redis_url(tmp_path):
    """A Redis of this test's own: tasks other tests left queued on a shared one (builds and
    purges of apps whose databases are gone) would take its workers' threads."""
    with redis_server(tmp_path) as url:
        yield url


@pytest.fixture
def workers(redis_url, redis_client):
    """A build worker and a one-off worker, both real Celery workers on the test's Redis."""
    queues = (("build", django_settings.CELERY_TASK_DEFAULT_QUEUE),
              ("oneoff", django_settings.PIER_ONEOFF_QUEUE))
    with celery_broker(redis_url):
        harnesses = [
            start_worker(celery_app, pool="threads", concurrency=2, perform_ping_check=False,
                         queues=[queue], hostname=f"{name}@sec-access-test", shutdown_timeout=10)
            for name, queue in queues
        ]
        running = [harness.__enter__() for harness in harnesses]
        yield
        # Two test workers in one process share Celery's global "should terminate" flag, so
        # its harness cannot always stop the second (it then waits and raises RuntimeError):
        # stop each worker directly, and let a thread that still lingers (a daemon, on a
        # Redis this test stops) end with the process rather than fail a test that passed.
        # Stopping closes the worker's broker connection while its consumer thread may still
        # use it: the close can fail (Bad file descriptor, I/O on closed file) or wait
        # forever for a BRPOP reply the consumer already took. So each stop runs in a
        # daemon thread given a bounded time; the Redis this test stops next ends any wait.
        for worker in running:
            stopper = threading.Thread(target=_stop_quietly, args=(worker,), daemon=True)
            stopper.start()
            stopper.join(15)
        for harness in reversed(harnesses):
            with suppress(RuntimeError):
                harness.__exit__(None, None, None)


def _stop_quietly(worker) -> None:
    with suppress(Exception):
        worker.stop(in_sighandler=False)


def _oneoff_containers(client, app: str) -> dict[str, str]:
    """Return {dyno: status} of the app's one-off containers."""
    found = client.containers.list(all=True, filters={"label": f"pier.app={app}"})
    return {c.labels["pier.oneoff"]: c.status for c in found if "pier.oneoff" in c.labels}



def _run(base: str, token: str, command: str, attach: bool = False) -> httpx.Response:
    return httpx.post(
        f"{base}/api/apps/sleepy/dynos/run", json={"command": command, "attach": attach},
        headers={"Authorization": f"Bearer {token}"}, timeout=30,
    )


def test_detached_sleepers_never_hold_up_a_build(
    docker_client, asgi_server, sleeper_app, user, workers, settings
):
    settings.PIER_MAX_ONEOFFS_PER_USER = 2
    dynos = []
    try:
        for _ in range(2):
            response = _run(asgi_server, user.plaintext_token, "sleep 600")
            assert response.status_code == 202, response.text
            dynos.append(response.json()["name"])
        wait_for(
            lambda: all(_oneoff_containers(docker_client, "sleepy").get(d) == "running"
                        for d in dynos),
            what="both detached sleepers running", interval=0.2,
        )

        # A push's build task, enqueued now, is picked up while both sleepers still run.
        build = Build.objects.create(app=App.objects.get(name="sleepy"), source_sha="f" * 40)
        build_run_task.delay(str(build.id))
        wait_for(
            lambda: Build.objects.get(pk=build.pk).started_at is not None,
            what="the build task to start: it waits behind the one-offs on a shared queue",
            interval=0.2,
        )
        running = _oneoff_containers(docker_client, "sleepy")
        assert all(running.get(d) == "running" for d in dynos), running

        # The user's cap: a third one-off, detached or attached, is refused with a reason.
        for attach in (False, True):
            refused = _run(asgi_server, user.plaintext_token, "sleep 600", attach=attach)
            assert refused.status_code == 429, refused.text
            assert refused.json()["id"] == "rate_limited"
            assert "PIER_MAX_ONEOFFS_PER_USER" in refused.json()["message"]

        # When one ends, its slot is free again.
        docker_client.containers.list(
            filters={"label": f"pier.oneoff={dynos[0]}"}
        )[0].kill()
        wait_for(lambda: dynos[0] not in _oneoff_containers(docker_client, "sleepy"),
                  what="the killed one-off to be removed", interval=0.2)
        again = _run(asgi_server, user.plaintext_token, "true", attach=True)
        assert again.status_code == 200, again.text
        assert '"exit_code": 0' in again.text
    finally:
        _stop_all(docker_client, "sleepy")


def _stop_all(client, app: str) -> None:
    """Kill the app's one-offs and let their tasks end (and remove them) before the workers stop."""
    for container in client.containers.list(filters={"label": f"pier.app={app}"}):
        container.kill()
    deadline = time.monotonic() + 30
    while _oneoff_containers(client, app) and time.monotonic() < deadline:
        time.sleep(0.2)
    for container in client.containers.list(all=True, filters={"label": f"pier.app={app}"}):
        container.remove(force=True)
