"""The Resources tab's add-ons: bad input shows its error in the page (422) and changes nothing;
the actions the browser test does not drive (attach with an alias, detach, restore) for real."""

import html

import pytest
from django.urls import reverse

from api.models import Addon, AddonAttachment, App
from api.selectors import config_current
from api.services.apps import app_create
from api.services.config import config_update


def url(view: str, /, **kwargs) -> str:
    return reverse(f"dashboard:{view}", kwargs=kwargs)


def page_text(response) -> str:
    return html.unescape(response.content.decode())


def test_the_tab_offers_the_services_and_plans(web, app):
    text = page_text(web.get(url("resources", app="shop")))
    assert "shop has no add-ons yet." in text
    assert "<option>postgresql</option>" in text and "<option>redis</option>" in text
    assert 'value="mini"' in text and 'value="standard"' in text


@pytest.mark.parametrize(("data", "says"), [
    ({"service": "mysql"}, "unknown add-on service 'mysql': use one of postgresql, redis"),
    ({"service": "postgresql", "plan": "huge"}, "unknown plan 'huge': use one of mini"),
    ({"service": "postgresql", "alias": "1BAD-NAME"}, "invalid add-on alias '1BAD-NAME'"),
    ({"service": ""}, "This field is required."),
])
def test_create_refused_shows_why(web, app, data, says):
    response = web.post(url("addon-create", app="shop"), data)
    assert response.status_code == 422
    assert says in page_text(response)
    assert not Addon.objects.exists()


def test_create_with_an_alias_already_set_shows_why(web, app, user):
    config_update(app=app, changes={"DATABASE_URL": "postgres://elsewhere/db"}, user=user)
    response = web.post(url("addon-create", app="shop"), {"service": "postgresql"})
    assert response.status_code == 422
    assert "DATABASE_URL is already set on shop" in page_text(response)
    assert not Addon.objects.exists()


@pytest.mark.parametrize(("action", "data", "says"), [
    ("addon-destroy", {"confirm": "shop"}, "add-on 'postgresql-nope-1' not found"),
    ("addon-attach", {"target": "shop"}, "add-on 'postgresql-nope-1' not found"),
    ("addon-detach", {}, "'postgresql-nope-1' is not attached to shop"),
    ("backup-capture", {}, "shop has no postgresql add-on 'postgresql-nope-1'"),
])
def test_actions_on_an_unknown_addon_show_why(web, app, action, data, says):
    response = web.post(url(action, app="shop", name="postgresql-nope-1"), data)
    assert response.status_code == 422
    assert says in page_text(response)


def test_restore_and_download_of_an_unknown_addon(web, app):
    response = web.post(url("backup-restore", app="shop", name="pg-nope", label="b001"),
                        {"confirm": "shop"})
    assert response.status_code == 422
    assert "shop has no postgresql add-on 'pg-nope'" in page_text(response)
    response = web.get(url("backup-download", app="shop", name="pg-nope", label="b001"),
                       follow=True)
    assert "shop has no postgresql add-on 'pg-nope'" in page_text(response)


def test_a_stranger_gets_404_for_every_action(client, app, make_user):
    client.force_login(make_user("stranger@example.com"))
    for action in ("addon-create", "addon-destroy", "backup-capture"):
        kwargs = {"app": "shop"} if action == "addon-create" else {"app": "shop", "name": "x"}
        assert client.post(url(action, **kwargs), {"service": "redis"}).status_code == 404
    assert not Addon.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_attach_detach_and_confirmations_with_a_real_addon(web, user, platform_label, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    app_create(user=user, name="shop")
    other = app_create(user=user, name="reports")
    created = web.post(url("addon-create", app="shop"), {"service": "postgresql"})
    assert created.status_code == 302, page_text(created)
    addon = Addon.objects.get()
    assert "Created " + addon.name in page_text(web.get(created["Location"]))

    # Data is touched only when the app's name is typed.
    refused = web.post(url("addon-destroy", app="shop", name=addon.name), {"confirm": "shpo"})
    assert refused.status_code == 422
    assert f"Type shop exactly to destroy {addon.name}." in page_text(refused)
    assert Addon.objects.get().state == Addon.State.AVAILABLE

    bad_alias = web.post(url("addon-attach", app="shop", name=addon.name),
                         {"target": "reports", "alias": "no spaces"})
    assert bad_alias.status_code == 422 and "invalid add-on alias" in page_text(bad_alias)
    hidden = web.post(url("addon-attach", app="shop", name=addon.name), {"target": "elsewhere"})
    assert hidden.status_code == 422 and "elsewhere" in page_text(hidden)
    attached = web.post(url("addon-attach", app="shop", name=addon.name),
                        {"target": "reports", "alias": "REPORTING_DATABASE"})
    assert attached.status_code == 302, page_text(attached)
    assert "REPORTING_DATABASE_URL" in config_current(app=other).values

    # Destroying an add-on still attached elsewhere names the app; the other app detaches it.
    busy = web.post(url("addon-destroy", app="shop", name=addon.name), {"confirm": "shop"})
    assert busy.status_code == 422 and "still attached to reports" in page_text(busy)
    reports_tab = page_text(web.get(url("resources", app="reports")))
    assert f"Detach {addon.name} from reports" in reports_tab
    assert f"Destroy {addon.name}" not in reports_tab  # it belongs to shop
    detached = web.post(url("addon-detach", app="reports", name="REPORTING_DATABASE"))
    assert detached.status_code == 302
    assert not AddonAttachment.objects.filter(app=other).exists()
    assert "REPORTING_DATABASE_URL" not in config_current(app=other).values

    captured = web.post(url("backup-capture", app="shop", name=addon.name))
    assert captured.status_code == 302
    wrong = web.post(url("backup-restore", app="shop", name=addon.name, label="b001"),
                     {"confirm": ""})
    assert wrong.status_code == 422 and "This field is required." in page_text(wrong)
    missing = web.post(url("backup-restore", app="shop", name=addon.name, label="b009"),
                       {"confirm": "shop"})
    assert missing.status_code == 422 and "backup 'b009'" in page_text(missing)
    restored = web.post(url("backup-restore", app="shop", name=addon.name, label="b001"),
                        {"confirm": "shop"})
    assert restored.status_code == 302, page_text(restored)
    download = web.get(url("backup-download", app="shop", name=addon.name, label="b001"))
    assert b"".join(download.streaming_content).startswith(b"PGDMP")
    assert App.objects.get(name="shop").addon_attachments.count() == 1
