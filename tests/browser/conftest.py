"""Playwright against the live Django server, driving Debian's Chromium."""

import os
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
def _builds_dir(settings, tmp_path, redis_client):
    # redis_client: logging in counts failed attempts in Redis (api/throttle.py).
    settings.PIER_BUILDS_DIR = tmp_path / "builds"
