"""Login, logout, session expiry and CSRF."""

import pytest
from django.test import Client
from django.urls import reverse


def test_anonymous_user_is_sent_to_login_with_next(client, app):
    url = reverse("dashboard:settings", kwargs={"app": "shop"}) + "?reveal=1"
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == "/login?next=/apps/shop/settings%3Freveal%3D1"


def test_login_returns_to_the_page_asked_for(client, user, redis_client):
    response = client.post(
        "/login?next=/apps/shop/settings",
        {
            "username": "Owner@Example.com",
            "password": "correct-horse-9",
            "next": "/apps/shop/settings",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/apps/shop/settings"


def test_login_without_next_goes_to_the_apps(client, user, redis_client):
    response = client.post("/login", {"username": user.email, "password": "correct-horse-9"})
    assert response.status_code == 302 and response["Location"] == "/"


def test_login_never_redirects_off_site(client, user, redis_client):
    response = client.post(
        "/login",
        {"username": user.email, "password": "correct-horse-9", "next": "https://evil.example/"},
    )
    assert response["Location"] == "/"


def test_wrong_password_shows_an_error(client, user, redis_client):
    response = client.post("/login", {"username": user.email, "password": "nope"})
    assert response.status_code == 200
    assert "Wrong email or password." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_logout_needs_post_and_ends_the_session(web):
    response = web.post(reverse("dashboard:logout"))
    assert response.status_code == 302 and response["Location"] == "/login"
    assert web.get("/").status_code == 302


def test_expired_session_on_htmx_request_redirects_the_whole_page(client, app):
    response = client.post(
        reverse("dashboard:scale", kwargs={"app": "shop"}),
        {"type": "web", "quantity": 2, "size": "standard"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver/apps/shop/resources",
    )
    assert response.status_code == 401
    assert response["HX-Redirect"] == "/login?next=/apps/shop/resources"


@pytest.mark.parametrize(
    "name,data",
    [
        ("dashboard:app-create", {"name": "new-app"}),
        ("dashboard:token-create", {"name": "laptop"}),
    ],
)
def test_post_without_csrf_token_is_forbidden(user, name, data):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post(reverse(name), data)
    assert response.status_code == 403


def test_app_post_without_csrf_token_changes_nothing(user, app):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    url = reverse("dashboard:app-delete", kwargs={"app": "shop"})
    assert client.post(url, {"confirm": "shop"}).status_code == 403
    url = reverse("dashboard:config-set", kwargs={"app": "shop"})
    assert client.post(url, {"key": "A", "value": "b"}).status_code == 403
    assert app.releases.count() == 1
    from api.models import App

    assert App.objects.filter(name="shop").exists()


def test_post_with_csrf_token_from_the_form_works(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    page = client.get("/")
    token = page.context["csrf_token"]
    response = client.post(
        reverse("dashboard:app-create"), {"name": "new-app", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
