import pytest
from django.test import Client

from api.models import App, Build
from api.selectors import config_current
from api.services.apps import app_create
from api.services.releases import release_create


@pytest.fixture
def web(user) -> Client:
    """Return a browser-like client logged in as `user` through a session."""
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def deployed(user):
    """Return a factory recording a successful build with process types, as a deploy does."""

    def deploy(app_name: str, process_types: dict | None = None, sha: str = "1a2b3c4d"):
        app = App.objects.get(name=app_name)
        build = Build.objects.create(
            app=app,
            status=Build.Status.SUCCEEDED,
            source_sha=sha,
            buildpack="python",
            process_types=process_types or {"web": "gunicorn app:app", "worker": "celery worker"},
            image=f"pier/{app_name}:{sha}",
            creator=user,
        )
        return release_create(
            app=app,
            build=build,
            config=config_current(app=app),
            description=f"Deploy {sha[:7]}",
            user=user,
        )

    return deploy


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
