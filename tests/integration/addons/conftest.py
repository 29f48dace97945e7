"""Apps whose one-offs join real add-on containers (the images and the per-test platform
label, `service_images` and `platform_label`, are in tests/conftest.py: the browser tests
use them too)."""

from __future__ import annotations

import pytest

from addons.container import engine
from api.desired import desired_app
from api.models import App, Build, Config
from api.services.releases import release_create
from runtime.backends.docker import Backend


@pytest.fixture
def addons_engine(platform_label):
    return engine()


@pytest.fixture
def make_app(user, service_images, platform_label):
    """Create an app deployed with the client image (it has psql and redis-cli)."""

    def make(name: str) -> App:
        app = App.objects.create(name=name, owner=user)
        build = Build.objects.create(app=app, status=Build.Status.SUCCEEDED,
                                     process_types={"web": "sleep 3600"}, image=service_images)
        release_create(app=app, build=build, config=Config.objects.create(app=app, values={}),
                       description="Deploy", user=user)
        return app

    return make


@pytest.fixture
def run_in(platform_label):
    """Run a shell command in a one-off of the app, as `pier run` does; return (code, output)."""
    backend = Backend(labels={"pier.platform": platform_label},
                      name_prefix=f"{platform_label}-")
    backend.ensure_network()

    def run(app: App, command: str, timeout: float = 60) -> tuple[int, str]:
        app.refresh_from_db()
        output = bytearray()
        code = backend.run_oneoff(desired_app(app=app), command, output=output.extend,
                                  timeout=timeout)
        return code, output.decode(errors="replace")

    return run
