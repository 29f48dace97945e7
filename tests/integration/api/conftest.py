import pytest

from api.models import App, Build
from api.selectors import config_current
from api.services.config import config_update
from api.services.releases import release_create


@pytest.fixture
def deployed(user):
    """Return a factory recording a successful build with process types, as a deploy does."""

    def deploy(app_name: str, process_types: dict | None = None, sha: str = "1a2b3c4d"):
        app = App.objects.get(name=app_name)
        build = Build.objects.create(
            app=app,
            status=Build.Status.SUCCEEDED,
            source_sha=sha,
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
def set_config(user):
    def set_(app_name: str, **values):
        return config_update(app=App.objects.get(name=app_name), changes=values, user=user)

    return set_
