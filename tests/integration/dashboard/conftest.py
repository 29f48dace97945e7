import pytest
from django.test import Client

from api.models import App
from api.services.apps import app_create


@pytest.fixture
def web(user) -> Client:
    """Return a browser-like client logged in as `user` through a session."""
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def app(user):
    return app_create(user=user, name="shop")


@pytest.fixture
def live_app(app, deployed):
    """Return an app with a deployed build (web and worker process types)."""
    deployed(app.name)
    return app


@pytest.fixture
def set_config(user):
    from api.services.config import config_update

    def set_(app_name: str, **values):
        return config_update(app=App.objects.get(name=app_name), changes=values, user=user)

    return set_


@pytest.fixture(autouse=True)
def _builds_dir(settings, tmp_path):
    # Build logs the tests write must not land in the developer's PIER_DATA_DIR.
    settings.PIER_BUILDS_DIR = tmp_path / "builds"
