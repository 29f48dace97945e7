"""Fixtures shared by every suite: users with real API tokens and an authenticated client."""

import pytest
from rest_framework.test import APIClient


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
