import hashlib

import pytest
from rest_framework.test import APIClient

from api.models import ApiToken


@pytest.mark.parametrize(
    "header",
    [None, "Bearer nope", "Bearer ", "Token abc", "Basic dXNlcjpwYXNz", "garbage"],
)
def test_missing_or_invalid_token_is_401_with_json_error(db, header):
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/apps")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json()["id"] == "unauthorized"
    assert response.json()["message"]


def test_tokens_are_stored_hashed(user):
    row = ApiToken.objects.get(user=user)
    assert row.key_hash == hashlib.sha256(user.plaintext_token.encode()).hexdigest()
    assert user.plaintext_token not in {row.key_hash, row.prefix, row.name}


def test_revoked_token_is_rejected(api, user):
    tokens = api.get("/api/account/tokens").json()
    assert api.delete(f"/api/account/tokens/{tokens[0]['id']}").status_code == 204
    response = api.get("/api/account")
    assert response.status_code == 401
    assert "pier login" in response.json()["message"]


def test_create_token_shows_it_once(api):
    created = api.post("/api/account/tokens", {"name": "ci"}, format="json").json()
    assert created["token"].startswith("pier_")
    listed = api.get("/api/account/tokens").json()
    assert all("token" not in row for row in listed)
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {created['token']}")
    assert other.get("/api/account").json()["email"] == "owner@example.com"


def test_login_with_password_returns_a_working_token(user, redis_client):
    client = APIClient()
    response = client.post(
        "/api/login", {"email": "OWNER@example.com", "password": "correct-horse-9"}, format="json"
    )
    assert response.status_code == 201
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['token']}")
    assert client.get("/api/account").status_code == 200


def test_login_with_wrong_password_is_refused(user, redis_client):
    response = APIClient().post(
        "/api/login", {"email": "owner@example.com", "password": "wrong"}, format="json"
    )
    assert response.status_code == 422
    assert response.json() == {"id": "invalid_params", "message": "wrong email or password"}


def test_health_needs_no_token(db):
    assert APIClient().get("/api/health").json() == {"status": "ok"}
