"""Pipelines and promotion: the same image, the target's own config, the target's checks.

Real parts: real builds (buildpacks, Docker), images tagged in the real engine, the app
processes started by the platform's own runtime loop (ReportingReconciler over the Docker
backend) with its health checks.
"""

import time

import pytest

from api.desired import desired_app, desired_state
from api.models import App, Release
from api.services.apps import app_create
from api.services.config import config_update
from builds import images
from pier import runtime_config
from pier.management.commands.runtime import ReportingReconciler
from runtime.reconciler import Reconciler
from runtime.router.memory import Router as MemoryRouter

pytestmark = pytest.mark.django_db(transaction=True)
# Serves on PORT unless MODE is "broken" (then it exits: its health check never passes).
GUARDED_WEB = ("web: sh -c 'test \"$MODE\" != broken || exit 3; "
               "exec python3 -m http.server $PORT'\n")
APP_JSON = '{"healthchecks": {"web": [{"type": "startup", "path": "/", "timeout": 15}]}}'


def _pipeline(api, *couplings: tuple[str, str]) -> None:
    (first, stage), *rest = couplings
    created = api.post("/api/pipelines", {"name": "shop", "app": first, "stage": stage},
                       format="json")
    assert created.status_code == 201, created.content
    for app, stage in rest:
        added = api.post("/api/pipelines/shop/apps", {"app": app, "stage": stage},
                         format="json")
        assert added.status_code == 201, added.content


@pytest.mark.docker
def test_promotion_ships_the_same_image_with_the_targets_config(
    api, user, devloop_build, docker_client
):
    for name, mode in (("shop-staging", "staging"), ("shop-prod", "production")):
        config_update(app=app_create(user=user, name=name), changes={"MODE": mode}, user=user)
    built = devloop_build("shop-staging", {"Procfile": GUARDED_WEB})
    assert built.status == "succeeded"
    staging = App.objects.get(name="shop-staging")
    _converge(_runtime()[0], lambda: staging.releases.first().status == "succeeded")
    _pipeline(api, ("shop-staging", "staging"), ("shop-prod", "production"))

    response = api.post("/api/apps/shop-staging/pipeline-promotions")
    assert response.status_code == 201, response.content
    assert response.json()["releases"][0]["description"] == "Promote shop-staging v3"

    prod = App.objects.get(name="shop-prod")
    target = desired_app(app=prod)
    assert target.image == images.image_tag(app_id=prod.id, build_id=prod.builds.get().id)
    assert docker_client.images.get(target.image).id == docker_client.images.get(
        built.image).id  # no rebuild: the very image
    assert target.env["MODE"] == "production"
    # A real container of the promoted release sees production's config.
    seen = []
    code = runtime_config.runtime_backend().run_oneoff(
        target, "echo mode=$MODE", output=seen.append, timeout=60)
    assert code == 0 and b"mode=production" in b"".join(seen)
    # Pruning the source app's images leaves the target's running image alone.
    images.prune(app_id=built.app_id, keep=set())
    assert docker_client.images.get(target.image)

    info = api.get("/api/pipelines/shop").json()
    stages = {s["stage"]: s["apps"] for s in info["stages"]}
    assert stages["staging"][0]["name"] == "shop-staging"
    assert stages["staging"][0]["release"]["version"] == 3


def test_promotion_is_refused_when_the_target_runs_a_type_the_build_lacks(
    api, user, deployed
):
    app_create(user=user, name="api-staging")
    app_create(user=user, name="api-prod")
    deployed("api-staging", {"web": "gunicorn app:app"})
    deployed("api-prod", {"web": "gunicorn app:app", "worker": "celery worker"})
    api.patch("/api/apps/api-prod/formation",
              {"updates": [{"type": "worker", "quantity": 1}]}, format="json")
    _pipeline(api, ("api-staging", "staging"), ("api-prod", "production"))

    response = api.post("/api/apps/api-staging/pipeline-promotions")
    assert response.status_code == 422
    assert "api-prod runs worker processes, which api-staging's build does not define" in \
        response.json()["message"]
    assert App.objects.get(name="api-prod").releases.count() == 2  # nothing released

    last = api.post("/api/apps/api-prod/pipeline-promotions")
    assert last.status_code == 422 and "nothing to promote to" in last.json()["message"]


@pytest.mark.docker
def test_a_promoted_release_failing_its_health_check_keeps_the_old_one(
    api, user, devloop_build, redis_client
):
    config_update(app=app_create(user=user, name="web-staging"), changes={"MODE": "ok"},
                  user=user)
    config_update(app=app_create(user=user, name="web-prod"), changes={"MODE": "broken"},
                  user=user)
    old = devloop_build("web-prod", {"Procfile": "web: exec python3 -m http.server $PORT\n",
                                     "app.json": APP_JSON})
    devloop_build("web-staging", {"Procfile": GUARDED_WEB, "app.json": APP_JSON})
    runtime, backend = _runtime()
    prod, staging = App.objects.get(name="web-prod"), App.objects.get(name="web-staging")
    _converge(runtime, lambda: not Release.objects.filter(status="pending").exists())
    assert prod.releases.first().status == staging.releases.first().status == "succeeded"

    _pipeline(api, ("web-staging", "staging"), ("web-prod", "production"))
    assert api.post("/api/apps/web-staging/pipeline-promotions").status_code == 201
    promoted = prod.releases.first()
    assert promoted.description == "Promote web-staging v3"
    _converge(runtime, lambda: Release.objects.get(pk=promoted.pk).status != "pending")

    assert Release.objects.get(pk=promoted.pk).status == "failed"
    assert desired_app(app=prod).image == old.image  # the old release keeps running
    running = [p for p in backend.list_processes() if p.app == str(prod.id) and p.state == "up"]
    assert running and {p.release for p in running} == {promoted.version - 1}


def _runtime():
    """The runtime process's loop body: the Docker backend, a router kept in memory."""
    backend = runtime_config.runtime_backend()
    reconciler = Reconciler(backend, MemoryRouter(), domain="localhost")
    return ReportingReconciler(reconciler, backend), backend


def _converge(runtime, done, limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    while not done():
        assert time.monotonic() < deadline, "the runtime never settled the release"
        runtime.reconcile(desired_state())
        time.sleep(0.5)


@pytest.mark.docker
def test_promoting_an_image_the_engine_lost_says_what_to_do(api, user, deployed):
    app_create(user=user, name="gone-staging")
    app_create(user=user, name="gone-prod")
    deployed("gone-staging", {"web": "gunicorn app:app"})  # its image was never built
    _pipeline(api, ("gone-staging", "staging"), ("gone-prod", "production"))

    response = api.post("/api/apps/gone-staging/pipeline-promotions")
    assert response.status_code == 409
    assert "the image of gone-staging v2 cannot be copied" in response.json()["message"]
    assert not App.objects.get(name="gone-prod").builds.exists()
