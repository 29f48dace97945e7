"""Webhooks must not reach the host's or the private network's services (SSRF).

A user could add a webhook to http://127.0.0.1:6379/ or the cloud metadata address and
have Pier POST to it. Destinations are checked like drains' (runtime/outbound.py): when
the webhook is added (422 naming the rule) and again at every delivery (a name may point
elsewhere later, or the operator may have narrowed PIER_OUTBOUND_ALLOW).
"""

import pytest

from api.models import WebhookDelivery
from api.services import webhooks
from api.services.apps import app_create

# A real HTTP server on loopback, standing for a service of the host.
from tests.integration.devloop.conftest import devloop_broker, devloop_receiver  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(("url", "rule"), [
    ("http://127.0.0.1:6379/", "a loopback address"),
    ("http://169.254.169.254/latest/meta-data/", "a link-local address"),
    ("https://10.1.2.3/hook", "a private address"),
    ("http://localhost:5000/api/apps", "a loopback address"),
    ("http://[::ffff:127.0.0.1]:80/", "a loopback address"),
])
def test_adding_a_webhook_to_a_non_public_address_is_refused(api, user, settings, url, rule):
    settings.PIER_OUTBOUND_ALLOW = ""
    app_create(user=user, name="ssrf")
    response = api.post("/api/apps/ssrf/webhooks", {"url": url, "include": "api:release"},
                        format="json")
    assert response.status_code == 422, response.content
    message = response.json()["message"]
    assert rule in message and "PIER_OUTBOUND_ALLOW" in message
    assert not api.get("/api/apps/ssrf/webhooks").json()


@pytest.mark.usefixtures("devloop_broker")
def test_every_delivery_is_checked_again(api, user, deployed, settings,
                                         devloop_receiver):  # noqa: F811
    settings.PIER_OUTBOUND_ALLOW = "127.0.0.0/8"
    app_create(user=user, name="rebind")
    added = api.post("/api/apps/rebind/webhooks",
                     {"url": devloop_receiver.url, "include": "api:release"}, format="json")
    assert added.status_code == 201, added.content
    settings.PIER_OUTBOUND_ALLOW = ""  # the operator narrows the allow list
    deployed("rebind")

    for delivery in WebhookDelivery.objects.all():
        assert webhooks.webhook_deliver(delivery_id=delivery.pk) == "retrying"
        delivery.refresh_from_db()
        assert "is a loopback address" in delivery.last_error
    assert devloop_receiver.requests == []  # nothing ever reached the endpoint
