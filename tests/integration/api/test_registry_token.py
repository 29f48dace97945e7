"""GET /api/registry/token: what a token grants (Docker's token auth spec), read from the JWT."""

import base64
import json

import pytest
from django.test import Client

ADDRESS = "127.0.0.1:5999"


def basic(token: str) -> str:
    return "Basic " + base64.b64encode(f"anyone:{token}".encode()).decode()


def claims(jwt: str) -> dict:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@pytest.fixture
def registry_settings(settings, tmp_path, redis_client):  # app names check Redis
    from registry.keys import keys_ensure

    settings.PIER_REGISTRY = ADDRESS
    settings.PIER_DATA_DIR = tmp_path
    keys_ensure(tmp_path / "registry")
    return settings


@pytest.fixture
def ask(registry_settings):
    def get(token: str | None, *scopes: str, service: str = ADDRESS):
        headers = {"HTTP_AUTHORIZATION": basic(token)} if token else {}
        return Client().get("/api/registry/token", {"service": service, "scope": list(scopes)},
                            **headers)

    return get


@pytest.mark.django_db
def test_grants_pull_and_push_on_own_apps_only(ask, make_user):
    from api.services.apps import app_create
    from api.services.collaborators import collaborator_add

    owner, other = make_user("owner@example.com"), make_user("other@example.com")
    app_create(user=owner, name="mine")
    app_create(user=other, name="theirs")
    app_create(user=other, name="shared")
    collaborator_add(app=_app("shared"), user=other, email="owner@example.com")
    answer = ask(owner.plaintext_token, "repository:mine:pull,push,delete",
                 "repository:theirs:pull", "repository:shared:push", "registry:catalog:*",
                 "repository:mine/sub:pull")
    assert answer.status_code == 200
    token = claims(answer.json()["token"])
    assert token["access"] == [
        {"type": "repository", "name": "mine", "actions": ["pull", "push"]},
        {"type": "repository", "name": "shared", "actions": ["push"]},
    ]
    assert token["aud"] == ADDRESS and token["iss"] == "pier"
    assert token["exp"] - token["iat"] <= 120


def _app(name):
    from api.models import App

    return App.objects.get(name=name)


@pytest.mark.django_db
def test_refuses_missing_or_wrong_tokens_with_a_basic_challenge(ask, user):
    for token in (None, "wrong-token"):
        answer = ask(token, "repository:mine:pull")
        assert answer.status_code == 401
        assert answer["WWW-Authenticate"] == 'Basic realm="Pier"'
        assert "pier login" in answer.json()["message"]


@pytest.mark.django_db
def test_refuses_another_service(ask, user):
    answer = ask(user.plaintext_token, "repository:mine:pull", service="elsewhere:5000")
    assert answer.status_code == 422
    assert f"this is '{ADDRESS}'" in answer.json()["message"]


@pytest.mark.django_db
def test_says_when_pier_has_no_registry(ask, user, settings):
    settings.PIER_REGISTRY = ""
    answer = ask(user.plaintext_token, "repository:mine:pull")
    assert answer.status_code == 422
    assert "set PIER_REGISTRY" in answer.json()["message"]


def test_the_signing_key_is_private_to_its_owner(registry_settings, tmp_path):
    assert (tmp_path / "registry" / "token.key").stat().st_mode & 0o077 == 0
