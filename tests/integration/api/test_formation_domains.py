import pytest

from api.models import Formation


@pytest.fixture
def app(api, deployed):
    api.post("/api/apps", {"name": "procs"}, format="json")
    deployed("procs", {"web": "gunicorn app:app", "worker": "python worker.py"})
    return "procs"


def test_first_deploy_scales_web_to_one(api, app):
    formation = {f["type"]: f for f in api.get("/api/apps/procs/formation").json()}
    assert formation["web"]["quantity"] == 1 and formation["worker"]["quantity"] == 0
    assert formation["web"]["command"] == "gunicorn app:app"
    assert formation["web"]["size"] == "standard"


def test_app_json_formation_sets_the_first_deploys_scale(api, user):
    from api.models import App, Build
    from api.selectors import config_current
    from api.services.releases import release_create

    api.post("/api/apps", {"name": "shaped"}, format="json")
    app = App.objects.get(name="shaped")
    build = Build.objects.create(
        app=app,
        status="succeeded",
        image="pier/shaped:1",
        process_types={"web": "gunicorn app:app", "worker": "python worker.py"},
        formation_defaults={"web": {"quantity": 2, "size": "large"}, "worker": {"quantity": 1}},
    )
    release_create(
        app=app, build=build, config=config_current(app=app), description="Deploy", user=user
    )
    got = {
        f["type"]: (f["quantity"], f["size"]) for f in api.get("/api/apps/shaped/formation").json()
    }
    assert got == {"web": (2, "large"), "worker": (1, "standard")}


def test_scale_batch(api, app):
    updates = [{"type": "web", "quantity": 3, "size": "large"}, {"type": "worker", "quantity": 1}]
    response = api.patch("/api/apps/procs/formation", {"updates": updates}, format="json")
    assert response.status_code == 200
    got = {f["type"]: (f["quantity"], f["size"]) for f in response.json()}
    assert got == {"web": (3, "large"), "worker": (1, "standard")}
    dynos = [d["name"] for d in api.get("/api/apps/procs/dynos").json()]
    assert dynos == ["web.1", "web.2", "web.3", "worker.1"]


@pytest.mark.parametrize(
    "updates, message",
    [
        (
            [{"type": "web", "quantity": 2}, {"type": "clock", "quantity": 1}],
            "no process type 'clock'",
        ),
        ([{"type": "web", "quantity": -1}], "between 0 and 100"),
        ([{"type": "web", "quantity": 100000}], "between 0 and 100"),
        ([{"type": "web", "quantity": "2"}], "whole number"),
        ([{"type": "web", "size": "huge"}], "unknown dyno size"),
        ([{"type": "web"}], "needs a quantity or a size"),
        ([{"quantity": 1}], 'needs a "type"'),
        ([], "non-empty list"),
        (None, "non-empty list"),
    ],
)
def test_bad_scale_changes_nothing(api, app, updates, message):
    response = api.patch("/api/apps/procs/formation", {"updates": updates}, format="json")
    assert response.status_code == 422
    assert message in response.json()["message"]
    assert dict(Formation.objects.values_list("type", "quantity")) == {"web": 1, "worker": 0}


def test_scaling_past_the_host_limit_is_refused(api, app, settings):
    settings.PIER_MAX_PROCESSES = 5
    updates = [{"type": "web", "quantity": 4}, {"type": "worker", "quantity": 2}]
    response = api.patch("/api/apps/procs/formation", {"updates": updates}, format="json")
    assert response.status_code == 422
    assert "at most 5 processes and this would make 6" in response.json()["message"]
    assert dict(Formation.objects.values_list("type", "quantity")) == {"web": 1, "worker": 0}


def test_scale_before_any_deploy_says_to_push(api):
    api.post("/api/apps", {"name": "fresh"}, format="json")
    response = api.patch(
        "/api/apps/fresh/formation", {"updates": [{"type": "web", "quantity": 1}]}, format="json"
    )
    assert response.status_code == 422
    assert "git push" in response.json()["message"]


def test_restart_requests(api, app):
    assert (
        api.post("/api/apps/procs/dynos/restart", {"target": "web"}, format="json").status_code
        == 202
    )
    assert Formation.objects.get(type="web").restarted_at is not None
    api.post("/api/apps/procs/dynos/restart", {"target": "worker.2"}, format="json")
    assert "2" in Formation.objects.get(type="worker").process_restarts
    bad = api.post("/api/apps/procs/dynos/restart", {"target": "clock"}, format="json")
    assert bad.status_code == 422


def test_domains(api, app, make_user, client_for):
    response = api.post("/api/apps/procs/domains", {"hostname": "WWW.Example.test"}, format="json")
    assert response.status_code == 201
    assert response.json()["hostname"] == "www.example.test"
    assert response.json()["cname"] == "procs.localhost"
    other = client_for(make_user("other@example.com"))
    other.post("/api/apps", {"name": "theirs"}, format="json")
    taken = other.post("/api/apps/theirs/domains", {"hostname": "www.example.test"}, format="json")
    assert taken.status_code == 409
    for bad in ["not a host", "procs.localhost", "localhost", ""]:
        assert (
            api.post("/api/apps/procs/domains", {"hostname": bad}, format="json").status_code == 422
        )
    assert api.delete("/api/apps/procs/domains/www.example.test").status_code == 204
    assert api.delete("/api/apps/procs/domains/www.example.test").status_code == 404
    assert api.get("/api/apps/procs/domains").json() == []


def test_openapi_schema_lists_the_endpoints(api):
    response = api.get("/api/schema", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in [
        "/api/apps",
        "/api/apps/{app}/config-vars",
        "/api/apps/{app}/formation",
        "/api/apps/{app}/releases",
        "/api/apps/{app}/domains",
    ]:
        assert path in paths


def test_drains(api, app, make_user, client_for):
    # A public address: a name would have to resolve here (no DNS in tests), and drains
    # only go to public addresses (tests/security/test_outbound.py).
    url = "SYSLOG+TLS://[2606:4700:4700::ABCD]:6514"
    created = api.post("/api/apps/procs/drains", {"url": url}, format="json")
    assert created.status_code == 201
    stored = created.json()["url"]
    assert api.post("/api/apps/procs/drains", {"url": url}, format="json").status_code == 409
    for bad in ["ftp://x.test", "syslog://", "not a url", ""]:
        response = api.post("/api/apps/procs/drains", {"url": bad}, format="json")
        assert response.status_code == 422, bad
        assert "invalid drain URL" in response.json()["message"]
    stranger = client_for(make_user("stranger@example.com"))
    assert stranger.get("/api/apps/procs/drains").status_code == 404
    assert [d["url"] for d in api.get("/api/apps/procs/drains").json()] == [stored]
    from urllib.parse import quote

    assert api.delete(f"/api/apps/procs/drains/{quote(stored, safe='')}").status_code == 204
    assert api.get("/api/apps/procs/drains").json() == []


def test_app_json_healthcheck_reaches_the_runtimes_desired_state(api, user):
    from api.desired import desired_app
    from api.models import App, Build
    from api.selectors import config_current
    from api.services.releases import release_create
    from runtime.desired import HealthCheck

    api.post("/api/apps", {"name": "checked"}, format="json")
    app = App.objects.get(name="checked")
    build = Build.objects.create(
        app=app, status="succeeded", image="pier/checked:1",
        process_types={"web": "gunicorn app:app"},
        healthcheck={"path": "/health", "content": "ok", "boot_timeout": 20.0},
    )
    release_create(
        app=app, build=build, config=config_current(app=app), description="Deploy", user=user
    )
    assert desired_app(app=app).healthcheck == HealthCheck(
        boot_timeout=20.0, path="/health", content="ok")
