"""Every page renders for the app's owner, and nobody else's app is reachable."""

import pytest
from django.urls import reverse

from api.models import Build
from builds.paths import build_output_path

APP_PAGES = ["app", "resources", "deploy", "activity", "logs", "settings"]


def test_apps_list_shows_the_users_apps_only(web, live_app, make_user):
    from api.services.apps import app_create

    app_create(user=make_user("other@example.com"), name="secret-app")
    response = web.get(reverse("dashboard:apps"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "shop" in body and "http://shop.localhost:8080" in body
    assert "v2" in body and "deployed" in body
    assert "secret-app" not in body


@pytest.mark.parametrize("page", APP_PAGES)
def test_every_app_page_renders(web, live_app, page):
    response = web.get(reverse(f"dashboard:{page}", kwargs={"app": live_app.name}))
    assert response.status_code == 200
    assert live_app.name in response.content.decode()


@pytest.mark.parametrize("page", APP_PAGES)
def test_every_app_page_renders_before_the_first_deploy(web, app, page):
    response = web.get(reverse(f"dashboard:{page}", kwargs={"app": app.name}))
    assert response.status_code == 200


@pytest.mark.parametrize("page", APP_PAGES)
def test_another_users_app_is_not_found(web, make_user, page):
    from api.services.apps import app_create

    app_create(user=make_user("other@example.com"), name="secret-app")
    response = web.get(reverse(f"dashboard:{page}", kwargs={"app": "secret-app"}))
    assert response.status_code == 404


def test_collaborator_sees_the_shared_app(client, make_user, live_app, user):
    from api.services.collaborators import collaborator_add

    friend = make_user("friend@example.com")
    collaborator_add(app=live_app, user=user, email=friend.email)
    client.force_login(friend)
    assert client.get(reverse("dashboard:app", kwargs={"app": "shop"})).status_code == 200
    settings_page = client.get(reverse("dashboard:settings", kwargs={"app": "shop"}))
    assert "Only the owner" in settings_page.content.decode()


def test_overview_shows_url_release_processes_and_activity(web, live_app):
    body = web.get(reverse("dashboard:app", kwargs={"app": "shop"})).content.decode()
    assert 'href="http://shop.localhost:8080"' in body
    assert "v2" in body and "Deploy 1a2b3c4" in body and "owner@example.com" in body
    assert "web.1" in body and "pending" in body
    assert "Initial release" in body


def test_processes_show_the_node_they_run_on_when_apps_run_on_several(web, live_app,
                                                                       redis_client):
    from api import dyno_status

    page = reverse("dashboard:resources", kwargs={"app": "shop"})
    assert ">Node<" not in web.get(page).content.decode()  # one host: no such column
    dyno_status.statuses_write(app=str(live_app.id), statuses={
        "web.1": {"state": "up", "release": 2, "restarts": 0, "node": "swl-n2"}})
    body = web.get(page).content.decode()
    assert ">Node<" in body and "<td>swl-n2</td>" in body


def test_deploy_page_shows_git_commands_and_builds(web, live_app):
    body = web.get(reverse("dashboard:deploy", kwargs={"app": "shop"})).content.decode()
    assert "git remote add pier http://127.0.0.1:5000/shop.git" in body
    assert "git push pier main" in body
    build = live_app.builds.get()
    assert str(build.id)[:8] in body and "succeeded" in body and "python" in body


def test_build_page_shows_the_whole_log(web, live_app):
    build = live_app.builds.get()
    path = build_output_path(build)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("-----> Python app detected\n<script>alert(1)</script>\n")
    url = reverse("dashboard:build", kwargs={"app": "shop", "build_id": build.id})
    body = web.get(url).content.decode()
    assert "-----&gt; Python app detected" in body
    assert "&lt;script&gt;" in body and "<script>alert" not in body
    assert "hx-trigger" not in body  # finished: no polling


def test_running_build_log_polls_every_two_seconds(web, live_app, user):
    build = Build.objects.create(app=live_app, status=Build.Status.BUILDING, creator=user)
    url = reverse("dashboard:build", kwargs={"app": "shop", "build_id": build.id})
    body = web.get(url).content.decode()
    assert 'hx-trigger="every 2s"' in body
    fragment = web.get(reverse("dashboard:build-log", kwargs={"app": "shop", "build_id": build.id}))
    assert fragment.status_code == 200 and b"<html" not in fragment.content
    build.status = Build.Status.SUCCEEDED
    build.save()
    fragment = web.get(reverse("dashboard:build-log", kwargs={"app": "shop", "build_id": build.id}))
    assert b"hx-trigger" not in fragment.content


def test_unknown_build_is_not_found(web, live_app):
    url = reverse("dashboard:build", kwargs={"app": "shop", "build_id": "ffffffffffff"})
    assert web.get(url).status_code == 404


def test_logs_tab_tails_the_apps_log_stream(web, app):
    body = web.get(reverse("dashboard:logs", kwargs={"app": "shop"})).content.decode()
    assert 'data-stream="/api/apps/shop/log-stream"' in body
    assert "dashboard/logs.js" in body


def test_account_page_lists_active_tokens(web, user):
    body = web.get(reverse("dashboard:account")).content.decode()
    assert "test" in body and user.plaintext_token[:12] in body
    assert user.plaintext_token not in body


def test_static_files_are_served(client):
    from django.templatetags.static import static

    for name in ("dashboard/htmx.min.js", "dashboard/dashboard.css"):
        response = client.get(static(name))
        assert response.status_code == 200, name
        b"".join(response.streaming_content if response.streaming else [response.content])


def test_a_trailing_slash_redirects_to_the_page(web, app):
    response = web.get(f"/apps/{app.name}/?tab=1")
    assert response.status_code == 301
    assert response["Location"] == f"/apps/{app.name}?tab=1"


def test_an_unknown_page_is_the_dashboards_own_404(web):
    response = web.get("/no/such/page")
    assert response.status_code == 404
    body = response.content.decode()
    assert "Nothing here" in body and "/no/such/page" in body
    assert "dashboard.css" in body  # the styled page, not Django's bare one


def test_an_unknown_api_path_is_a_json_404(client):
    response = client.get("/api/no-such-thing")
    assert response.status_code == 404
    assert response.json()["id"] == "not_found"
