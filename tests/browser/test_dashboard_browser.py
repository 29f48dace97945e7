"""A user's whole path through the dashboard in a real Chromium."""

import re

import pytest

pytest.importorskip("playwright", reason="pip install playwright pytest-playwright")

from playwright.sync_api import expect

PASSWORD = "correct-horse-9"

pytestmark = pytest.mark.django_db(transaction=True)


def runtime_confirms_releases():
    """Do what the runtime does once new processes are healthy (no runtime runs here)."""
    from api.models import Release
    from api.services.deploys import release_mark

    for release in Release.objects.filter(status=Release.Status.PENDING).select_related("app"):
        release_mark(app_id=release.app_id, version=release.version, status="succeeded")


def log_in(page, email: str):
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_a_user_deploys_configures_scales_rolls_back_and_deletes(
    live_server, page, user, deployed, screenshot
):
    base = live_server.url
    page.goto(base + "/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    screenshot("login")
    log_in(page, user.email)
    expect(page.get_by_role("heading", name="Apps")).to_be_visible()

    # Create an app: lands on its Deploy tab with the git commands.
    page.get_by_label("Name").fill("shop")
    page.get_by_role("button", name="Create app").click()
    expect(page).to_have_url(base + "/apps/shop/deploy")
    expect(
        page.get_by_text(f"git remote add pier {'http://127.0.0.1:5000/shop.git'}")
    ).to_be_visible()
    deployed("shop")
    page.reload()
    expect(page.get_by_role("cell", name="python")).to_be_visible()
    screenshot("deploy")
    page.get_by_role("link", name=re.compile(r"^[0-9a-f]{8}$")).click()
    expect(page.get_by_label("Build output")).to_contain_text("Python app detected")
    screenshot("build-log")

    # Apps list now shows the app with its release and URL.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Apps").click()
    row = page.get_by_role("row", name=re.compile("shop"))
    expect(row).to_contain_text("v2")
    expect(row).to_contain_text("http://shop.localhost:8080")
    screenshot("apps")

    # Config vars: set one, it is hidden, then revealed in place.
    page.goto(base + "/apps/shop/settings")
    page.get_by_label("Key").fill("SECRET_TOKEN")
    page.get_by_label("Value", exact=True).fill("hunter2")
    page.get_by_role("button", name="Set", exact=True).click()
    expect(page.get_by_text("Set SECRET_TOKEN.")).to_be_visible()
    config = page.locator("#config-vars")
    expect(config.get_by_role("rowheader", name="SECRET_TOKEN")).to_be_visible()
    expect(config).not_to_contain_text("hunter2")
    assert "hunter2" not in page.content()
    page.evaluate("window.notReloaded = true")
    page.get_by_role("link", name="Reveal config vars").click()
    expect(page.get_by_label("Value of SECRET_TOKEN")).to_have_value("hunter2")
    assert page.evaluate("window.notReloaded") is True
    screenshot("settings")

    # Scale through htmx: the process list updates without a page load.
    page.get_by_role("link", name="Resources").click()
    expect(page.locator("#dynos")).to_contain_text("web.1")
    page.evaluate("window.notReloaded = true")
    page.locator("#qty-web").fill("3")
    page.locator("#size-web").select_option("large")
    page.locator("#qty-web").locator("xpath=ancestor::form").get_by_role(
        "button", name="Save"
    ).click()
    expect(page.locator("#dynos")).to_contain_text("web.3")
    expect(page.get_by_role("status").filter(has_text="Saved")).to_be_visible()
    assert page.evaluate("window.notReloaded") is True
    page.locator("#qty-worker").fill("-5")
    page.locator("#qty-worker").evaluate("el => el.removeAttribute('min')")
    page.locator("#qty-worker").locator("xpath=ancestor::form").get_by_role(
        "button", name="Save"
    ).click()
    expect(page.get_by_role("alert")).to_contain_text("greater than or equal to 0")
    screenshot("resources")

    # Roll back to v2 (before the config change), after confirming.
    runtime_confirms_releases()
    page.get_by_role("link", name="Activity").click()
    screenshot("activity")
    page.get_by_role("link", name="Roll back to v2").click()
    expect(page.get_by_role("heading", name="Roll back to v2?")).to_be_visible()
    screenshot("rollback-confirm")
    page.get_by_role("button", name="Roll back to v2").click()
    expect(page.get_by_text("Rolled back to v2: now running v4.")).to_be_visible()
    runtime_confirms_releases()
    page.reload()
    expect(page.get_by_role("row", name=re.compile(r"v4 current"))).to_contain_text(
        "Rollback to v2"
    )

    page.get_by_role("link", name="Overview").click()
    expect(page.locator("#dynos")).to_contain_text("web.3")
    screenshot("overview")
    # Not the Logs tab here: live_server is WSGI, where a tail never ends and would keep
    # the test process from exiting. test_dashboard_logs.py tests it against uvicorn.
    expect(page.get_by_role("link", name="Logs")).to_be_visible()

    # Account: a new token is shown once, then revoked.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Account").click()
    page.get_by_label("Name").fill("laptop")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_label("Token", exact=True)).to_have_value(re.compile(r"^pier_"))
    screenshot("account")
    page.get_by_role("button", name="Revoke token laptop").click()
    expect(page.get_by_text("Token revoked")).to_be_visible()
    expect(page.get_by_role("rowheader", name="laptop")).to_have_count(0)

    # Delete the app by typing its name.
    page.goto(base + "/apps/shop/settings")
    page.get_by_label("Type the app's name to confirm").fill("shop")
    page.get_by_role("button", name="Delete shop").click()
    expect(page.get_by_text("Deleted shop.")).to_be_visible()
    expect(page.get_by_role("link", name="shop", exact=True)).to_have_count(0)


def test_expired_session_logs_in_and_returns_to_the_page(live_server, page, user):
    from api.services.apps import app_create

    app_create(user=user, name="shop")
    page.goto(live_server.url + "/login")
    log_in(page, user.email)
    page.goto(live_server.url + "/apps/shop/resources")
    page.context.clear_cookies()
    page.goto(live_server.url + "/apps/shop/settings")
    expect(page).to_have_url(re.compile(r"/login\?next=/apps/shop/settings$"))
    log_in(page, user.email)
    expect(page).to_have_url(live_server.url + "/apps/shop/settings")


def test_readable_on_a_phone(live_server, browser, user, deployed, screenshot):
    from api.services.apps import app_create

    app_create(user=user, name="shop")
    deployed("shop")
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(live_server.url + "/apps/shop/resources")
    log_in(page, user.email)
    expect(page.locator("#qty-web")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px wide)"
    screenshot("phone-resources", page)
    context.close()


def test_running_build_log_follows_until_the_build_ends(live_server, page, user):
    from api.models import Build
    from api.services.apps import app_create
    from builds.paths import build_output_path

    app = app_create(user=user, name="shop")
    build = Build.objects.create(app=app, status=Build.Status.BUILDING, creator=user)
    log = build_output_path(build)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("-----> Building\n")
    page.goto(f"{live_server.url}/apps/shop/builds/{build.id}")
    log_in(page, user.email)
    output = page.get_by_label("Build output")
    expect(output).to_contain_text("-----> Building")
    with log.open("a") as f:
        f.write("-----> Launching...\n")
    Build.objects.filter(pk=build.pk).update(status=Build.Status.SUCCEEDED)
    expect(output).to_contain_text("Launching...", timeout=10_000)
    expect(page.locator("#build-log")).to_contain_text("succeeded")
    expect(page.locator("#build-log[hx-trigger]")).to_have_count(0)
