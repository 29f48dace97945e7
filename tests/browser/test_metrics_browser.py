"""The Metrics tab in a real Chromium: charts drawn by the vendored uPlot, release markers."""

import re
import time

import pytest

pytest.importorskip("playwright", reason="pip install playwright pytest-playwright")

from playwright.sync_api import expect

from runtime.metrics import MetricsStore
from runtime.metrics import buckets as b

PASSWORD = "correct-horse-9"

pytestmark = pytest.mark.django_db(transaction=True)


def _record(redis_client, app_id: str, ago: float, latencies, status=200):
    bucket = b.new(int(time.time() - ago) // 10 * 10)
    for ms in latencies:
        b.add_request(bucket, status, ms)
    b.add_process(bucket, "web.1", cpu=1.0, seconds=10, memory=80 * 2**20, limit=512 * 2**20)
    MetricsStore(redis_client).add([(app_id, bucket)])


def test_metrics_tab_draws_charts_with_release_markers(
        live_server, page, user, deployed, redis_client, screenshot):
    from api.services.apps import app_create

    app = app_create(user=user, name="gauged")
    deployed("gauged")
    _record(redis_client, str(app.id), 600, [30] * 40)
    _record(redis_client, str(app.id), 300, [30] * 18 + [700, 900], status=500)
    page.goto(live_server.url + "/apps/gauged/metrics")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.get_by_role("link", name="Metrics").click()
    expect(page.get_by_role("heading", name="Metrics")).to_be_visible()
    expect(page.locator("#metrics-status")).to_have_text("2 points, 30 s apart")
    expect(page.locator(".uplot")).to_have_count(4)
    summary = page.locator("#metrics-summary")
    expect(summary).to_contain_text("60 (")
    expect(summary).to_contain_text("40 / 0 / 0 / 20")
    expect(page.locator("#chart-memory")).to_contain_text("web.1")
    expect(page.locator("#chart-memory")).to_contain_text("limit")
    expect(page.locator("#metrics-releases")).to_contain_text("v2")
    screenshot("metrics-1h")

    page.get_by_role("link", name="7d").click()
    # A week is 144 points of 70 min; the two buckets fall in one or straddle two.
    status = page.locator("#metrics-status")
    expect(status).to_have_text(re.compile(r"^[12] points?, 70 min apart$"))
    expect(page.locator(".uplot")).to_have_count(4)


def test_metrics_tab_says_when_there_is_nothing_yet(live_server, page, user, redis_client):
    from api.services.apps import app_create

    app_create(user=user, name="quiet")
    page.goto(live_server.url + "/apps/quiet/metrics?since=24h")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#metrics-status")).to_have_text(
        "No requests or processes measured in this range yet.")
    expect(page.get_by_role("link", name="24h")).to_have_attribute("aria-current", "page")
