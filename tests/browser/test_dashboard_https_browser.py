"""The Settings page's HTTPS section in a real Chromium: domains, certificate state, switches."""

import pytest

pytest.importorskip("playwright", reason="pip install playwright pytest-playwright")

from playwright.sync_api import expect  # noqa: E402

from tests.browser.test_dashboard_browser import log_in  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def broker(redis_url):
    """Send Celery tasks to the tests' Redis; return a function counting the queued ones.

    Through celery_broker, which drops Celery's pools: a producer an earlier test of the
    session made would otherwise still publish to that test's broker.
    """
    import redis
    from django.conf import settings

    from tests.helpers import celery_broker

    client = redis.Redis.from_url(redis_url)
    client.delete(settings.CELERY_TASK_DEFAULT_QUEUE)
    with celery_broker(redis_url):
        yield lambda: client.llen(settings.CELERY_TASK_DEFAULT_QUEUE)
    client.delete(settings.CELERY_TASK_DEFAULT_QUEUE)


def test_acm_and_redirect_switches(live_server, page, user, broker):
    from api.models import App, Certificate
    from api.services.apps import app_create
    from api.services.domains import domain_add

    app = app_create(user=user, name="shop")
    domain_add(app=app, hostname="www.example.test")
    page.goto(live_server.url + "/login?next=/apps/shop/settings")
    log_in(page, user.email)
    https = page.locator("#https")
    rows = https.locator("#https-domains tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("shop.localhost")
    expect(rows.nth(1)).to_contain_text("www.example.test")
    expect(rows.first).to_contain_text("none")

    https.get_by_role("button", name="Turn Automated Certificate Management on").click()
    expect(page.get_by_text("certificates are being ordered")).to_be_visible()
    expect(page.locator("#https-domains")).to_contain_text("pending")
    assert Certificate.objects.get(app=app).source == "acme"
    assert broker() == 1  # the order went to the worker's queue

    page.locator("#https").get_by_role("button", name="Stop redirecting HTTP to HTTPS").click()
    expect(page.locator("#https")).to_contain_text("served as it is")
    assert App.objects.get(pk=app.pk).https_redirect is False
