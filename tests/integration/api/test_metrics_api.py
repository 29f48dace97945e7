"""GET /apps/{app}/metrics and ps:autoscale through the API, over real Redis."""

import time

import pytest

from api.models import App, Formation
from runtime.metrics import MetricsStore
from runtime.metrics import buckets as b


@pytest.fixture
def app(api, deployed, redis_client):
    api.post("/api/apps", {"name": "gauged"}, format="json")
    deployed("gauged", {"web": "gunicorn app:app", "worker": "celery worker"})
    return App.objects.get(name="gauged")


def _record(redis_client, app, *, ago: float, latencies, status=200, memory=50 * 2**20):
    bucket = b.new(int(time.time() - ago) // 10 * 10)
    for ms in latencies:
        b.add_request(bucket, status, ms)
    b.add_process(bucket, "web.1", cpu=2.0, seconds=10, memory=memory, limit=512 * 2**20)
    MetricsStore(redis_client).add([(str(app.id), bucket)])


def test_points_summary_and_release_markers(api, app, redis_client):
    _record(redis_client, app, ago=120, latencies=[20] * 90 + [800] * 10)
    _record(redis_client, app, ago=60, latencies=[30] * 5, status=503)
    response = api.get("/api/apps/gauged/metrics", {"since": "1h", "step": "60"})
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["step"] == 60 and len(data["points"]) == 2
    summary = data["summary"]
    assert summary["requests"] == 105
    assert summary["status"] == {"2xx": 100, "3xx": 0, "4xx": 0, "5xx": 5}
    assert summary["p50"] < 50 and 750 <= summary["p99"] <= 1000
    web = summary["processes"]["web.1"]
    assert web["cpu_percent"] == 20.0 and web["memory_mb"] == 50.0
    assert web["memory_limit_mb"] == 512 and web["memory_percent"] == pytest.approx(9.8)
    assert [r["version"] for r in data["releases"]] == [1, 2]


def test_a_day_reads_the_minute_ring(api, app, redis_client):
    _record(redis_client, app, ago=5 * 3600, latencies=[10])  # past the 10 s ring's hour
    data = api.get("/api/apps/gauged/metrics", {"since": "24h", "step": "60"}).json()
    assert data["step"] == 60 and data["summary"]["requests"] == 1
    # Without a step, a day comes as 144 points of 10 minutes, from the 10 min ring.
    data = api.get("/api/apps/gauged/metrics", {"since": "24h"}).json()
    assert data["step"] == 600 and data["summary"]["requests"] == 1
    assert api.get("/api/apps/gauged/metrics").json()["summary"]["requests"] == 0


@pytest.mark.parametrize("query, message", [
    ({"since": "yesterday"}, "since must be a duration"),
    ({"since": "8d"}, "at most 7d"),
    ({"step": "-5"}, "step must be a duration"),
])
def test_bad_queries_say_what_to_do(api, app, query, message):
    response = api.get("/api/apps/gauged/metrics", query)
    assert response.status_code == 422 and message in response.json()["message"]


def test_other_users_cannot_read_metrics(app, make_user, client_for):
    stranger = client_for(make_user("stranger@example.com"))
    assert stranger.get("/api/apps/gauged/metrics").status_code == 404
    assert stranger.put("/api/apps/gauged/formation/web/autoscale",
                        {"min": 1, "max": 2, "p95_ms": 100}, format="json").status_code == 404


def test_metrics_and_autoscale_are_in_the_schema(api):
    schema = api.get("/api/schema", HTTP_ACCEPT="application/json").content.decode()
    assert "/api/apps/{app}/metrics" in schema
    assert "/api/apps/{app}/formation/{ptype}/autoscale" in schema


def test_enable_clamps_the_quantity_and_manual_scale_disables_it(api, app):
    path = "/api/apps/gauged/formation/web/autoscale"
    response = api.put(path, {"min": 2, "max": 4, "p95_ms": 300}, format="json")
    assert response.status_code == 200, response.content
    web = next(r for r in response.json() if r["type"] == "web")
    assert web["quantity"] == 2 and web["autoscale"] == {"min": 2, "max": 4, "p95_ms": 300}
    same = [{"type": "web", "quantity": 2, "size": "large"}]  # a new size only: still on
    api.patch("/api/apps/gauged/formation", {"updates": same}, format="json")
    assert Formation.objects.get(app=app, type="web").autoscaling
    api.patch("/api/apps/gauged/formation", {"updates": [{"type": "web", "quantity": 3}]},
              format="json")
    row = Formation.objects.get(app=app, type="web")
    assert row.quantity == 3 and not row.autoscaling
    api.put(path, {"min": 1, "max": 4, "p95_ms": 300}, format="json")
    response = api.delete(path)
    assert response.status_code == 200
    assert not Formation.objects.get(app=app, type="web").autoscaling
    assert "is not autoscaling" in api.delete(path).json()["message"]


@pytest.mark.parametrize("body, message", [
    ({"min": 3, "max": 2, "p95_ms": 500}, "--min 3 is above --max 2"),
    ({"min": 1, "max": 8, "p95_ms": 0}, "must be above 0"),
    ({"min": 1, "max": 8, "p95_ms": "fast"}, "p95 must be a whole number"),
    ({"min": 0, "max": 8, "p95_ms": 500}, "--min must be at least 1"),
    ({"min": 1, "max": 101, "p95_ms": 500}, "PIER_MAX_PROCESSES_PER_TYPE"),
    ({"min": 1, "max": 60, "p95_ms": 500}, "--max 60 is past a quota"),
])
def test_bad_autoscale_input_says_what_to_do(api, app, body, message):
    response = api.put("/api/apps/gauged/formation/web/autoscale", body, format="json")
    assert response.status_code == 422 and message in response.json()["message"], response.json()
    assert not Formation.objects.get(app=app, type="web").autoscaling
    assert Formation.objects.get(app=app, type="web").quantity == 1


def test_only_web_autoscales(api, app):
    response = api.put("/api/apps/gauged/formation/worker/autoscale",
                       {"min": 1, "max": 2, "p95_ms": 100}, format="json")
    assert response.status_code == 422 and "only web processes autoscale" in response.json()[
        "message"]


def test_a_tick_over_slow_buckets_scales_up_and_shows_on_activity(api, app, user, redis_client,
                                                                   client):
    from datetime import timedelta

    from django.utils import timezone

    from api.services.autoscale import autoscale_tick

    api.put("/api/apps/gauged/formation/web/autoscale", {"min": 1, "max": 3, "p95_ms": 100},
            format="json")
    Formation.objects.filter(app=app, type="web").update(
        autoscale_acted_at=timezone.now() - timedelta(minutes=2))
    for ago in range(10, 80, 10):
        _record(redis_client, app, ago=ago, latencies=[800] * 10)
    done = autoscale_tick(store=MetricsStore(redis_client))
    assert done and "web autoscaled up from 1" in done[0]
    assert Formation.objects.get(app=app, type="web").quantity == 2
    assert autoscale_tick(store=MetricsStore(redis_client)) == []  # judged again after a window
    client.force_login(user)
    page = client.get("/apps/gauged/activity", HTTP_HOST="127.0.0.1").content.decode()
    assert "Autoscaling" in page and "1 → 2" in page and "above the 100 ms target" in page
