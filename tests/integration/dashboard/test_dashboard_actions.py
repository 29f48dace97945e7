"""Each form goes through the services; invalid input shows an error and changes nothing."""

import pytest
from django.urls import reverse

from api.models import ApiToken, App, Domain
from api.selectors import config_current


def url(name: str, **kwargs) -> str:
    return reverse(f"dashboard:{name}", kwargs=kwargs)


def test_create_app(web, user):
    response = web.post(url("app-create"), {"name": "new-app"})
    assert response.status_code == 302 and response["Location"] == "/apps/new-app/deploy"
    app = App.objects.get(name="new-app")
    assert app.owner == user and app.releases.count() == 1


def test_create_app_with_a_random_name(web):
    response = web.post(url("app-create"), {"name": ""})
    assert response.status_code == 302
    assert App.objects.count() == 1


@pytest.mark.parametrize("name", ["Bad_Name", "x", "9lives", "a--b"])
def test_create_app_with_an_invalid_name_shows_the_error(web, name):
    response = web.post(url("app-create"), {"name": name})
    assert response.status_code == 422
    assert "invalid app name" in response.content.decode()
    assert not App.objects.exists()


def test_create_app_with_a_taken_name(web, make_user):
    from api.services.apps import app_create

    app_create(user=make_user("other@example.com"), name="taken")
    response = web.post(url("app-create"), {"name": "taken"})
    assert response.status_code == 422 and "already taken" in response.content.decode()
    assert App.objects.count() == 1


def test_config_vars_are_hidden_until_revealed(web, app, set_config):
    set_config("shop", SECRET_KEY="hunter2")
    hidden = web.get(url("settings", app="shop")).content.decode()
    assert "SECRET_KEY" in hidden and "hunter2" not in hidden
    revealed = web.get(url("settings", app="shop") + "?reveal=1").content.decode()
    assert "hunter2" in revealed


def test_set_edit_and_delete_a_config_var(web, app):
    response = web.post(url("config-set", app="shop"), {"key": "DEBUG", "value": "1"})
    assert response.status_code == 302
    assert config_current(app=app).values == {"DEBUG": "1"}
    web.post(url("config-set", app="shop"), {"key": "DEBUG", "value": "0"})
    assert config_current(app=app).values == {"DEBUG": "0"}
    web.post(url("config-delete", app="shop"), {"key": "DEBUG"})
    assert config_current(app=app).values == {}
    assert [r.description for r in app.releases.all()[:3]] == [
        "Remove DEBUG config vars",
        "Set DEBUG config vars",
        "Set DEBUG config vars",
    ]


@pytest.mark.parametrize("key", ["PORT", "1ABC", "WITH SPACE", ""])
def test_invalid_config_var_changes_nothing(web, app, key):
    response = web.post(url("config-set", app="shop"), {"key": key, "value": "x"})
    assert response.status_code == 422
    assert 'class="errorlist' in response.content.decode()
    assert app.releases.count() == 1


def test_scale_with_htmx_returns_the_updated_process_list(web, live_app):
    response = web.post(
        url("scale", app="shop"),
        {"type": "web", "quantity": 3, "size": "large"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body and 'id="resources"' in body
    assert "web.3" in body and "Saved" in body
    row = live_app.formation.get(type="web")
    assert (row.quantity, row.size) == (3, "large")


def test_scale_without_htmx_redirects(web, live_app):
    response = web.post(
        url("scale", app="shop"), {"type": "worker", "quantity": 2, "size": "small"}
    )
    assert response.status_code == 302
    assert live_app.formation.get(type="worker").quantity == 2


@pytest.mark.parametrize(
    "data",
    [
        {"type": "web", "quantity": -1, "size": "standard"},
        {"type": "web", "quantity": 100000, "size": "standard"},
        {"type": "web", "quantity": 2, "size": "huge"},
        {"type": "clock", "quantity": 2, "size": "standard"},
        {"type": "web", "quantity": "many", "size": "standard"},
    ],
)
def test_invalid_scale_shows_the_error_and_changes_nothing(web, live_app, data):
    response = web.post(url("scale", app="shop"), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert (
        'role="alert"' in response.content.decode()
        or "no process type" in response.content.decode()
    )
    row = live_app.formation.get(type="web")
    assert (row.quantity, row.size) == (1, "standard")
    assert not live_app.formation.filter(type="clock").exists()


def test_scale_before_a_deploy_explains_why_not(web, app):
    response = web.post(url("scale", app="shop"), {"type": "web", "quantity": 1, "size": "small"})
    assert response.status_code == 422
    assert "no process types yet" in response.content.decode()


def test_rollback_asks_for_confirmation_then_rolls_back(web, live_app, set_config):
    set_config("shop", A="1")  # v3
    confirm = web.get(url("rollback", app="shop", version=2))
    assert confirm.status_code == 200 and "Roll back to v2?" in confirm.content.decode()
    assert live_app.releases.count() == 3
    response = web.post(url("rollback", app="shop", version=2))
    assert response.status_code == 302
    latest = live_app.releases.first()
    assert (latest.version, latest.description) == (4, "Rollback to v2")
    assert config_current(app=live_app).values == {}


def test_rollback_to_a_missing_release_changes_nothing(web, live_app):
    response = web.post(url("rollback", app="shop", version=99), follow=True)
    assert "release v99 of shop not found" in response.content.decode()
    assert live_app.releases.count() == 2


def test_domains_add_and_remove(web, app):
    web.post(url("domain-add", app="shop"), {"hostname": "WWW.Example.com"})
    assert list(app.domains.values_list("hostname", flat=True)) == ["www.example.com"]
    body = web.get(url("settings", app="shop")).content.decode()
    assert "www.example.com" in body and "shop.localhost" in body
    web.post(url("domain-remove", app="shop"), {"hostname": "www.example.com"})
    assert not app.domains.exists()


@pytest.mark.parametrize("hostname", ["not a host", "localhost", "x.localhost"])
def test_invalid_domain_changes_nothing(web, app, hostname):
    response = web.post(url("domain-add", app="shop"), {"hostname": hostname})
    assert response.status_code == 422
    assert not Domain.objects.exists()


def test_collaborators_add_and_remove(web, app, make_user):
    make_user("friend@example.com")
    web.post(url("collaborator-add", app="shop"), {"email": "friend@example.com"})
    assert list(app.collaborators.values_list("email", flat=True)) == ["friend@example.com"]
    web.post(url("collaborator-remove", app="shop"), {"email": "friend@example.com"})
    assert not app.collaborators.exists()


def test_adding_an_unknown_collaborator_shows_the_error(web, app):
    response = web.post(url("collaborator-add", app="shop"), {"email": "nobody@example.com"})
    assert response.status_code == 422
    assert "no Pier user with email" in response.content.decode()


def test_maintenance_mode_toggles(web, app):
    web.post(url("maintenance", app="shop"), {"maintenance": "on"})
    app.refresh_from_db()
    assert app.maintenance
    web.post(url("maintenance", app="shop"), {"maintenance": "off"})
    app.refresh_from_db()
    assert not app.maintenance


def test_delete_app_needs_its_name(web, app):
    response = web.post(url("app-delete", app="shop"), {"confirm": "shoe"})
    assert response.status_code == 422
    assert "Type shop exactly" in response.content.decode()
    assert App.objects.filter(name="shop").exists()
    response = web.post(url("app-delete", app="shop"), {"confirm": "shop"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert not App.objects.filter(name="shop").exists()


def test_collaborator_cannot_delete_the_app(client, app, user, make_user):
    from api.services.collaborators import collaborator_add

    friend = make_user("friend@example.com")
    collaborator_add(app=app, user=user, email=friend.email)
    client.force_login(friend)
    response = client.post(url("app-delete", app="shop"), {"confirm": "shop"})
    assert response.status_code == 422 and "only the owner" in response.content.decode()
    assert App.objects.filter(name="shop").exists()


def test_actions_on_another_users_app_are_not_found(web, make_user):
    from api.services.apps import app_create

    app_create(user=make_user("other@example.com"), name="secret-app")
    for name, data in [
        ("config-set", {"key": "A", "value": "1"}),
        ("scale", {"type": "web", "quantity": 1, "size": "small"}),
        ("app-delete", {"confirm": "secret-app"}),
        ("maintenance", {"maintenance": "on"}),
    ]:
        assert web.post(url(name, app="secret-app"), data).status_code == 404
    assert App.objects.get(name="secret-app").releases.count() == 1


def test_create_token_shows_it_once(web, user):
    response = web.post(url("token-create"), {"name": "laptop"})
    assert response.status_code == 200
    token = ApiToken.objects.get(user=user, name="laptop")
    body = response.content.decode()
    assert 'value="pier_' in body and token.prefix in body
    again = web.get(url("account")).content.decode()
    assert "laptop" in again and 'value="pier_' not in again


def test_token_without_a_name_changes_nothing(web, user):
    response = web.post(url("token-create"), {"name": "  "})
    assert response.status_code == 422
    assert ApiToken.objects.filter(user=user).count() == 1


def test_revoke_token(web, user):
    token = ApiToken.objects.get(user=user)
    response = web.post(url("token-revoke", token_id=token.pk))
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_cannot_revoke_another_users_token(web, make_user):
    other = make_user("other@example.com")
    token = ApiToken.objects.get(user=other)
    web.post(url("token-revoke", token_id=token.pk))
    token.refresh_from_db()
    assert token.revoked_at is None
