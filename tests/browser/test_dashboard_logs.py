"""The Logs tab in a real Chromium: lines arrive live over SSE, filters and pause work."""

import pytest

pytest.importorskip("playwright", reason="pip install playwright pytest-playwright")

from playwright.sync_api import expect

from api.services.apps import app_create
from runtime import applog

pytestmark = pytest.mark.django_db(transaction=True)


def test_live_tail_with_filter_and_pause(asgi_server, page, user, redis_client, screenshot):
    stream = str(app_create(user=user, name="tailed").id)  # streams are keyed by app id
    redis_client.delete(applog.stream_key(stream))

    def write(message, dyno="web.1", source="app"):
        applog.append(redis_client, stream, source=source, dyno=dyno, message=message)

    write("from before the page")
    page.goto(asgi_server + "/apps/tailed/logs")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill("correct-horse-9")
    page.get_by_role("button", name="Log in").click()
    lines = page.locator("#log-lines li")
    expect(lines.first).to_contain_text("app[web.1]: from before the page")
    expect(page.locator("#log-status")).to_have_text("live")

    write("arrives live")
    expect(lines.last).to_contain_text("app[web.1]: arrives live")

    page.get_by_role("button", name="Pause").click()
    write("held while paused")
    page.wait_for_timeout(1000)
    expect(page.locator("#log-lines")).not_to_contain_text("held while paused")
    page.get_by_role("button", name="Resume").click()
    expect(lines.last).to_contain_text("held while paused")

    page.get_by_label("Source").select_option("router")
    write("GET / status=200", dyno="router", source="router")
    write("not a router line")
    expect(lines.last).to_contain_text("router[router]: GET / status=200")
    expect(page.locator("#log-lines")).not_to_contain_text("not a router line")
    screenshot("logs")
    redis_client.delete(applog.stream_key(stream))
