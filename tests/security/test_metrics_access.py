"""An app's metrics and autoscaling belong to those who may see the app, and follow its id.

Metrics reveal traffic, errors and memory; autoscaling spends the owner's quota. A
stranger gets the same 404 as for an app that does not exist (API and dashboard), a
collaborator reads them, and an app re-created under a destroyed app's name starts with
no metrics (they are keyed by app id, and the purge drops them). Real Redis and Docker.
"""

import time

import pytest

from api.models import App
from api.services.apps import app_create, app_destroy, app_purge
from api.services.collaborators import collaborator_add
from runtime.metrics import MetricsStore
from runtime.metrics import buckets as b

pytestmark = pytest.mark.django_db(transaction=True)


def _traffic(redis_client, app: App) -> None:
    bucket = b.new(int(time.time()) // 10 * 10)
    b.add_request(bucket, 500, 42)
    MetricsStore(redis_client).add([(str(app.id), bucket)])
    MetricsStore(redis_client).touch({str(app.id): time.time()})


def test_strangers_get_404_and_collaborators_read(make_user, client_for, redis_client, client,
                                                  deployed):
    owner, stranger, friend = (make_user(f"{who}@example.com")
                               for who in ("owner", "stranger", "friend"))
    app = app_create(user=owner, name="secretive")
    deployed("secretive")
    _traffic(redis_client, app)
    collaborator_add(app=app, user=owner, email=friend.email)

    spy = client_for(stranger)
    assert spy.get("/api/apps/secretive/metrics").status_code == 404
    for method in (spy.put, spy.delete):
        response = method("/api/apps/secretive/formation/web/autoscale",
                          {"min": 1, "max": 50, "p95_ms": 1}, format="json")
        assert response.status_code == 404
    assert not app.formation.get(type="web").autoscaling
    client.force_login(stranger)
    for page in ("metrics", "metrics.json"):
        assert client.get(f"/apps/secretive/{page}", HTTP_HOST="127.0.0.1").status_code == 404

    data = client_for(friend).get("/api/apps/secretive/metrics").json()
    assert data["summary"]["status"]["5xx"] == 1


@pytest.mark.docker
def test_a_recreated_name_starts_without_the_old_metrics(make_user, client_for, redis_client,
                                                         docker_client):
    owner = make_user("owner@example.com")
    old = app_create(user=owner, name="reborn")
    _traffic(redis_client, old)
    app_destroy(user=owner, name="reborn")
    app_purge(app_id=str(old.id), build_ids=[])
    assert MetricsStore(redis_client).last_request(str(old.id)) is None

    newcomer = make_user("newcomer@example.com")
    app_create(user=newcomer, name="reborn")
    data = client_for(newcomer).get("/api/apps/reborn/metrics").json()
    assert data["summary"]["requests"] == 0 and data["points"] == []
