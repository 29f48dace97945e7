import pytest

from api.models import App, Config, Release


def test_create_app_makes_release_v1(api):
    response = api.post("/api/apps", {"name": "myapp"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "myapp"
    assert body["web_url"] == "http://myapp.localhost:8080"
    assert body["git_url"].endswith("/myapp.git")
    assert body["current_release"] == {"version": 1}
    releases = api.get("/api/apps/myapp/releases").json()
    assert [(r["version"], r["description"]) for r in releases] == [(1, "Initial release")]


def test_create_app_without_name_gets_a_readable_one(api):
    name = api.post("/api/apps", {}, format="json").json()["name"]
    assert App.objects.filter(name=name).exists()
    assert name.count("-") == 2


@pytest.mark.parametrize("name", ["MyApp", "1app", "a" * 31, "../../etc/passwd", "x", "my app"])
def test_invalid_names_are_refused_and_nothing_is_written(api, name):
    response = api.post("/api/apps", {"name": name}, format="json")
    assert response.status_code == 422
    assert response.json()["id"] == "invalid_params"
    assert "invalid app name" in response.json()["message"]
    assert not App.objects.exists() and not Release.objects.exists() and not Config.objects.exists()


def test_duplicate_name_is_a_conflict(api, make_user, client_for):
    api.post("/api/apps", {"name": "taken"}, format="json")
    other = client_for(make_user("other@example.com"))
    response = other.post("/api/apps", {"name": "taken"}, format="json")
    assert response.status_code == 409
    assert "already taken" in response.json()["message"]


@pytest.mark.parametrize("body", ["{not json", "[1, 2]", '"a string"'])
def test_malformed_bodies_get_json_errors(api, body):
    response = api.generic("POST", "/api/apps", body, content_type="application/json")
    assert response.status_code in (400, 422)
    assert set(response.json()) == {"id", "message"}


def test_another_users_app_is_404_not_403(api, make_user, client_for):
    api.post("/api/apps", {"name": "secret"}, format="json")
    stranger = client_for(make_user("stranger@example.com"))
    for method, path in [
        ("get", "/api/apps/secret"),
        ("get", "/api/apps/secret/config-vars"),
        ("patch", "/api/apps/secret/config-vars"),
        ("delete", "/api/apps/secret"),
        ("get", "/api/apps/secret/releases"),
        ("post", "/api/apps/secret/domains"),
    ]:
        response = getattr(stranger, method)(path, {"A": "b"}, format="json")
        assert response.status_code == 404, (method, path)
        assert response.json()["id"] == "not_found"
    assert stranger.get("/api/apps").json() == []


def test_rename_and_maintenance(api):
    api.post("/api/apps", {"name": "old-name"}, format="json")
    body = api.patch("/api/apps/old-name", {"name": "new-name", "maintenance": True}, format="json")
    assert body.status_code == 200
    assert body.json()["name"] == "new-name" and body.json()["maintenance"] is True
    assert api.get("/api/apps/old-name").status_code == 404


def test_rename_to_invalid_name_changes_nothing(api):
    api.post("/api/apps", {"name": "keep"}, format="json")
    response = api.patch("/api/apps/keep", {"name": "Bad", "maintenance": True}, format="json")
    assert response.status_code == 422
    app = App.objects.get(name="keep")
    assert app.maintenance is False


def test_destroy_removes_everything(api, deployed, set_config):
    api.post("/api/apps", {"name": "doomed"}, format="json")
    deployed("doomed")
    set_config("doomed", A="1")
    api.post("/api/apps/doomed/domains", {"hostname": "doomed.example.test"}, format="json")
    assert api.delete("/api/apps/doomed").status_code == 204
    assert not App.objects.exists() and not Release.objects.exists()


def test_collaborators_share_but_cannot_destroy(api, make_user, client_for):
    api.post("/api/apps", {"name": "shared"}, format="json")
    friend = make_user("friend@example.com")
    assert (
        api.post(
            "/api/apps/shared/collaborators", {"email": "friend@example.com"}, format="json"
        ).status_code
        == 201
    )
    friend_api = client_for(friend)
    assert [a["name"] for a in friend_api.get("/api/apps").json()] == ["shared"]
    assert (
        friend_api.patch("/api/apps/shared/config-vars", {"K": "v"}, format="json").status_code
        == 200
    )
    response = friend_api.delete("/api/apps/shared")
    assert response.status_code == 403
    assert "only the owner" in response.json()["message"]
    roles = {c["email"]: c["role"] for c in api.get("/api/apps/shared/collaborators").json()}
    assert roles == {"owner@example.com": "owner", "friend@example.com": "collaborator"}
    assert api.delete("/api/apps/shared/collaborators/friend@example.com").status_code == 204
    assert friend_api.get("/api/apps/shared").status_code == 404


def test_adding_unknown_or_duplicate_collaborator(api, make_user):
    api.post("/api/apps", {"name": "team"}, format="json")
    make_user("friend@example.com")
    unknown = api.post("/api/apps/team/collaborators", {"email": "nobody@x.y"}, format="json")
    assert unknown.status_code == 404
    api.post("/api/apps/team/collaborators", {"email": "friend@example.com"}, format="json")
    again = api.post("/api/apps/team/collaborators", {"email": "friend@example.com"}, format="json")
    assert again.status_code == 409
