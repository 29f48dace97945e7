"""Playwright against the live Django server, driving Debian's Chromium."""

import os
from datetime import timedelta
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from a
# thread with a running loop unless told that this is deliberate.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def pytest_collection_modifyitems(config, items):
    if not config.pluginmanager.hasplugin("playwright"):
        skip = pytest.mark.skip(reason="the pytest-playwright plugin is not installed or enabled")
        for item in items:
            if "tests/browser/" in str(item.fspath):
                item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # Playwright cannot download its own browser here; use the system's Chromium.
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
        ],
    }


# pytest-playwright starts Playwright once per session. Its sync API leaves an asyncio loop
# marked as running in the main thread for as long as it runs, which breaks every later
# test that calls asyncio.run(). So these overrides start Playwright and the browser per
# module of browser tests, and stop them when the module is done.
@pytest.fixture(scope="module")
def playwright():
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    yield pw
    pw.stop()


@pytest.fixture(scope="module")
def browser_type(playwright, browser_name):
    return getattr(playwright, browser_name)


@pytest.fixture(scope="module")
def launch_browser(browser_type_launch_args, browser_type):
    def launch(**kwargs):
        return browser_type.launch(**{**browser_type_launch_args, **kwargs})

    return launch


@pytest.fixture(scope="module")
def browser(launch_browser):
    browser = launch_browser()
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def browser_context_args():
    return {}


@pytest.fixture
def screenshot(page):
    """Save a full-page screenshot of a page (the test's by default) under tests/artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)

    def shoot(name: str, target=None) -> Path:
        path = ARTIFACTS / f"dashboard-{name}.png"
        (target or page).screenshot(path=str(path), full_page=True)
        return path

    return shoot


@pytest.fixture(autouse=True)
def _builds_dir(settings, tmp_path):
    settings.PIER_BUILDS_DIR = tmp_path / "builds"


@pytest.fixture
def deployed(user):
    """Return a factory recording a successful build with process types, as a deploy does."""
    from django.utils import timezone

    from api.models import App, Build
    from api.selectors import config_current
    from api.services.releases import release_create
    from builds.paths import build_output_path

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
            started_at=timezone.now() - timedelta(seconds=83),
            finished_at=timezone.now(),
        )
        path = build_output_path(build)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "-----> Python app detected\n-----> Installing requirements with pip\n"
            "       Successfully installed flask gunicorn\n-----> Discovering process types\n"
            "       Procfile declares types -> web, worker\n"
        )
        return release_create(
            app=app,
            build=build,
            config=config_current(app=app),
            description=f"Deploy {sha[:7]}",
            user=user,
        )

    return deploy
