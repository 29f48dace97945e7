"""Bad add-on requests get a clear error before anything is provisioned."""

import pytest

from api.models import Addon, App
from api.services.config import config_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def app(user):
    return App.objects.create(name="badapp", owner=user)


@pytest.mark.parametrize(("body", "status", "says"), [
    ({"service": "mysql"}, 422, "unknown add-on service 'mysql': use one of postgresql, redis"),
    ({"service": "postgresql", "plan": "huge"}, 422, "unknown plan 'huge': use one of mini"),
    ({"service": "postgresql", "as": "1BAD-NAME"}, 422, "invalid add-on alias '1BAD-NAME'"),
    ({"service": "postgresql", "as": "MY DB"}, 422, "invalid add-on alias"),
])
def test_refused(api, app, platform_label, body, status, says):
    response = api.post("/api/apps/badapp/addons", body, format="json")
    assert response.status_code == status, response.content
    assert says in response.json()["message"]
    assert not Addon.objects.exists()


def test_alias_taken_by_a_config_var(api, app, user):
    config_update(app=app, changes={"DATABASE_URL": "postgres://elsewhere/db"}, user=user)
    response = api.post("/api/apps/badapp/addons", {"service": "postgresql"}, format="json")
    assert response.status_code == 409
    assert response.json()["message"].startswith("DATABASE_URL is already set on badapp")
    assert not Addon.objects.exists()


def test_unknown_addon_and_attachment(api, app):
    assert api.get("/api/addons/postgresql-nope-12345").status_code == 404
    response = api.delete("/api/apps/badapp/addon-attachments/DATABASE")
    assert response.status_code == 404 and "not attached to badapp" in response.json()["message"]
    response = api.get("/api/apps/badapp/pg")
    assert response.status_code == 404
    assert response.json()["message"] == (
        "badapp has no postgresql add-on: see `pier addons -a badapp`")
