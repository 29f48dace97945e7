"""The Resources tab's add-ons in a real Chromium, on a real PostgreSQL add-on container."""

import re

import pytest

pytest.importorskip("playwright", reason="pip install playwright pytest-playwright")

from playwright.sync_api import expect  # noqa: E402

from tests.browser.test_dashboard_browser import log_in  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)


def test_create_capture_a_backup_and_destroy_with_confirm(
    live_server, page, user, platform_label, settings, screenshot
):
    from api.models import Addon
    from api.selectors import config_current
    from api.services.apps import app_create

    # The backup's dump runs in the test's process instead of on a worker.
    settings.CELERY_TASK_ALWAYS_EAGER = True
    app = app_create(user=user, name="shop")
    # Creating waits until the database answers; on a busy machine that is over 30 s.
    page.set_default_timeout(180_000)
    page.goto(live_server.url + "/login?next=/apps/shop/resources")
    log_in(page, user.email)
    addons = page.locator("#addons")
    expect(addons).to_contain_text("shop has no add-ons yet.")

    addons.get_by_label("Service").select_option("postgresql")
    addons.get_by_role("button", name="Create add-on").click()
    expect(page.get_by_role("status")).to_contain_text("gets DATABASE_URL in a new release")
    addon = Addon.objects.get(app=app)
    row = page.locator("#addon-list").get_by_role("row", name=re.compile(addon.name))
    expect(row).to_contain_text("postgresql")
    expect(row).to_contain_text("available")
    expect(row).to_contain_text("DATABASE_URL")
    assert config_current(app=app).values["DATABASE_URL"].startswith("postgres")

    page.get_by_role("button", name=f"Capture a backup of {addon.name}").click()
    backups = page.get_by_role("table", name="Backups")
    expect(backups.get_by_role("row", name=re.compile("b001"))).to_contain_text("succeeded")
    expect(page.get_by_role("link", name="Download b001")).to_be_visible()
    screenshot("addons")

    # A wrong name is refused in the page; the add-on stays.
    confirm = page.get_by_label(f"Type shop to destroy {addon.name} and its data")
    confirm.fill("shp")
    page.get_by_role("button", name=f"Destroy {addon.name}").click()
    expect(page.get_by_role("alert")).to_contain_text(f"Type shop exactly to destroy {addon.name}.")
    assert Addon.objects.get(pk=addon.pk).state == Addon.State.AVAILABLE

    page.get_by_label(f"Type shop to destroy {addon.name} and its data").fill("shop")
    page.get_by_role("button", name=f"Destroy {addon.name}").click()
    expect(page.get_by_role("status")).to_contain_text(f"Destroyed {addon.name}")
    expect(page.locator("#addons")).to_contain_text("shop has no add-ons yet.")
    addon.refresh_from_db()
    assert addon.state == Addon.State.DESTROYED
    assert "DATABASE_URL" not in config_current(app=app).values
    assert addon.backups.count() == 2  # b001 and the final backup destroy keeps
