"""An app's logs, cache, images, repo and processes belong to its id, not its name.

Issue 12, finding 3: everything was keyed by name, so whoever re-created a destroyed app's
name read its logs (a logged DATABASE_URL) and built with its cache (where a planted
binary would run), and an open `logs --tail` kept streaming after access was revoked.
Real Redis, real Docker, real git repos; the runtime's reconciler and log shipper run
in-process against the engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import httpx
import pytest
from django.test import AsyncClient
from django.utils import timezone

from api.desired import desired_app
from api.models import Build
from api.selectors import config_current
from api.services.apps import PurgePending, app_create, app_destroy, app_purge, app_update
from api.services.collaborators import collaborator_add, collaborator_remove
from api.services.releases import release_create
from builds import images, logstream
from builds.engine import RUN_IMAGE
from builds.paths import build_output_path
from gitpush.repos import repo_ensure
from logs.events import event_log
from runtime import applog
from tests.helpers import wait_for

docker = pytest.importorskip("docker")
pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "DATABASE_URL=postgres://alice:s3cret@db.internal/gamma"



@pytest.fixture
def engine(settings, tmp_path):
    """A Docker client with the stack's run image; removes what the test labels or tags."""
    try:
        client = docker.from_env()
        client.ping()
        client.images.get(RUN_IMAGE)
    except Exception as e:  # no engine or no stack image: nothing to prove on
        pytest.skip(f"needs Docker and {RUN_IMAGE}: {e}")
    settings.PIER_REPOS_DIR = tmp_path / "repos"
    settings.PIER_BUILDS_DIR = tmp_path / "builds"
    label = uuid.uuid4().hex[:8]
    made = {"tags": [], "volumes": []}
    client.test_label, client.made = label, made
    yield client
    for container in client.containers.list(all=True, filters={"label": f"pier.test={label}"}):
        container.remove(force=True)
    for tag in made["tags"]:
        with contextlib.suppress(docker.errors.NotFound):
            client.images.remove(tag)
    for name in made["volumes"]:
        with contextlib.suppress(docker.errors.NotFound):
            client.volumes.get(name).remove(force=True)


def deploy(engine, app, user, command: str) -> None:
    """Record a release whose web process runs command in the stack's run image."""
    tag = images.image_tag(app_id=app.id, build_id=uuid.uuid4())
    engine.images.get(RUN_IMAGE).tag(tag)
    engine.made["tags"].append(tag)
    build = Build.objects.create(app=app, status=Build.Status.SUCCEEDED, image=tag,
                                 process_types={"web": command}, creator=user)
    release_create(app=app, build=build, config=config_current(app=app), user=user,
                   description="Deploy")
    app.formation.update_or_create(type="web", defaults={"quantity": 1})


def plant_cache(engine, app) -> str:
    name = images.cache_volume(app_id=app.id)
    engine.volumes.create(name)
    engine.made["volumes"].append(name)
    return name


def runtime_for(engine):
    from runtime.backends.docker import Backend
    from runtime.reconciler import Reconciler, SyncExecutor
    from runtime.router.memory import Router

    backend = Backend(client=engine, labels={"pier.test": engine.test_label},
                      name_prefix=f"pier-test-{engine.test_label}-", isolate_host=False)
    return backend, Reconciler(backend, Router(), executor=SyncExecutor())


def shipper_for(engine, redis_client):
    from runtime.logship import Shipper

    shipper = Shipper(engine, redis_client, labels={"pier.test": engine.test_label},
                      rescan=0.5)
    shipper.start()
    return shipper


def read_logs(user, name: str) -> str:
    async def run():
        client = AsyncClient()
        response = await client.get(f"/api/apps/{name}/log-stream", {"lines": 1000},
                                    headers={"Authorization": f"Bearer {user.plaintext_token}"})
        assert response.status_code == 200
        return b"".join([c async for c in response.streaming_content]).decode()

    return asyncio.run(run())


def test_a_recreated_name_gets_none_of_the_destroyed_apps_logs_cache_or_images(
    engine, make_user, redis_client
):
    alice, bob = make_user("alice@example.com"), make_user("bob@example.com")
    old = app_create(user=alice, name="gamma")
    deploy(engine, old, alice, f"echo {SECRET}; sleep 600")
    old_cache = plant_cache(engine, old)
    backend, reconciler = runtime_for(engine)
    shipper = shipper_for(engine, redis_client)
    try:
        reconciler.reconcile([desired_app(app=old)])
        wait_for(lambda: SECRET in read_logs(alice, "gamma"), what="alice's line shipped")

        app_destroy(user=alice, name="gamma")
        new = app_create(user=bob, name="gamma")
        assert SECRET not in read_logs(bob, "gamma")
        assert images.cache_volume(app_id=new.id) != old_cache
        assert not engine.volumes.list(filters={"name": images.cache_volume(app_id=new.id)})
        assert not engine.images.list(name=f"pier/{new.id}")
    finally:
        shipper.stop()
        for process in backend.list_processes():
            backend.remove(process)


def test_rename_keeps_processes_log_stream_cache_and_images(engine, user, redis_client):
    app = app_create(user=user, name="delta")
    deploy(engine, app, user, "echo first words; sleep 600")
    cache = plant_cache(engine, app)
    backend, reconciler = runtime_for(engine)
    shipper = shipper_for(engine, redis_client)
    try:
        reconciler.reconcile([desired_app(app=app)])
        wait_for(lambda: "first words" in read_logs(user, "delta"), what="the line shipped")
        [before] = backend.list_processes()

        app = app_update(user=user, name="delta", new_name="epsilon")
        result = reconciler.reconcile([desired_app(app=app)])
        assert not result.errors
        [after] = backend.list_processes()
        assert after.container_id == before.container_id  # not restarted
        assert "first words" in read_logs(user, "epsilon")
        event_log(app_id=app.id, message="after the rename")
        assert "after the rename" in read_logs(user, "epsilon")
        assert images.cache_volume(app_id=app.id) == cache
        assert engine.images.list(name=f"pier/{app.id}")
    finally:
        shipper.stop()
        for process in backend.list_processes():
            backend.remove(process)


def test_destroy_removes_processes_repo_cache_images_and_streams(
    engine, user, redis_client, monkeypatch
):
    app = app_create(user=user, name="zeta")
    app_id = str(app.id)
    repo = repo_ensure(app)
    deploy(engine, app, user, "sleep 600")
    cache = plant_cache(engine, app)
    build = app.builds.first()
    logstream.BuildLogWriter(redis_client, str(build.id), build_output_path(build)).write("x")
    event_log(app_id=app.id, message="hello")
    backend, reconciler = runtime_for(engine)
    reconciler.reconcile([desired_app(app=app)])
    assert backend.list_processes()

    app_destroy(user=user, name="zeta")
    # The purge asks the runtime's backend what still runs: here, the test's labelled one.
    monkeypatch.setattr("api.services.apps.runtime_backend", lambda: backend)
    with pytest.raises(PurgePending):  # its process still runs: nothing is pulled from under it
        app_purge(app_id=app_id, build_ids=[str(build.id)])
    reconciler.reconcile([])  # the runtime stops apps that are no longer desired
    wait_for(lambda: not backend.list_processes(), what="the process stopped")
    app_purge(app_id=app_id, build_ids=[str(build.id)])
    app_purge(app_id=app_id, build_ids=[str(build.id)])  # safe to repeat

    assert not repo.exists()
    assert not engine.volumes.list(filters={"name": cache})
    assert not engine.images.list(name=f"pier/{app_id}")
    assert not redis_client.exists(applog.stream_key(app_id))
    assert not redis_client.exists(logstream.stream_key(str(build.id)))


@pytest.mark.parametrize("revoke", ["collaborator_removed", "token_revoked", "app_destroyed"])
def test_an_open_tail_ends_when_access_is_revoked(asgi_server, make_user, settings, revoke):
    settings.PIER_ACCESS_RECHECK = 0.5
    owner, guest = make_user("owner@example.com"), make_user("guest@example.com")
    app = app_create(user=owner, name="eta")
    collaborator_add(app=app, user=owner, email="guest@example.com")
    url = f"{asgi_server}/api/apps/eta/log-stream"
    headers = {"Authorization": f"Bearer {guest.plaintext_token}"}
    with httpx.stream("GET", url, params={"tail": "1", "lines": "0"}, headers=headers,
                      timeout=httpx.Timeout(60.0)) as response:
        assert response.status_code == 200
        chunks = response.iter_text()
        event_log(app_id=app.id, message="still allowed")
        seen = ""
        while "still allowed" not in seen:
            seen += next(chunks)
        if revoke == "collaborator_removed":
            collaborator_remove(app=app, user=owner, email="guest@example.com")
        elif revoke == "token_revoked":
            guest.api_tokens.update(revoked_at=timezone.now())
        else:
            app_destroy(user=owner, name="eta")
        rest = "".join(chunks)  # returns only when the server ends the response
    assert "no longer have access" in rest
