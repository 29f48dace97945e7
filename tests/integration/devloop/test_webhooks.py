"""App webhooks against a real receiver: signed deliveries, retries, a dead endpoint.

Real parts: an HTTP server started by the test (allowed with PIER_OUTBOUND_ALLOW, as an
operator would), a real Celery worker on the one-off queue and the test's Redis, a real
build (buildpacks, Docker) for the build events.
"""

import hashlib
import hmac
import json
import socket
import threading
import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from api.models import App, WebhookDelivery
from api.services import webhooks
from api.services.apps import app_create
from pier.celery import app as celery_app

SECRET = "s3cret-for-tests"
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _allow_loopback(settings):
    settings.PIER_OUTBOUND_ALLOW = "127.0.0.0/8"


def _add(api, app: str, url: str, include: str = "api:build,api:release") -> dict:
    response = api.post(f"/api/apps/{app}/webhooks",
                        {"url": url, "include": include, "secret": SECRET}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _verify(request: dict) -> dict:
    """Check the Pier-Signature of a request as a receiver would; return its JSON body."""
    expected = "sha256=" + hmac.new(SECRET.encode(), request["body"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request["headers"]["Pier-Signature"], expected)
    return json.loads(request["body"])


@pytest.mark.docker
def test_build_and_release_events_arrive_signed(
    api, user, devloop_receiver, devloop_oneoff_worker, devloop_build
):
    app_create(user=user, name="hooked")
    hook = _add(api, "hooked", devloop_receiver.url)
    assert "secret" in hook and hook["include"] == ["api:build", "api:release"]

    build = devloop_build("hooked", {})
    assert build.status == "succeeded"

    requests = devloop_receiver.wait_for(3)
    bodies = [_verify(r) for r in requests]
    assert sorted((b["event"], b["action"]) for b in bodies) == [
        ("api:build", "started"), ("api:build", "succeeded"), ("api:release", "created")]
    release = next(b for b in bodies if b["event"] == "api:release")
    assert release["app"] == {"id": str(build.app_id), "name": "hooked"}
    assert release["data"]["version"] == 2 and release["webhook_id"] == hook["id"]
    assert {r["headers"]["Pier-Event"] for r in requests} == {"api:build", "api:release"}
    _wait(lambda: not WebhookDelivery.objects.exclude(status="succeeded").exists(),
          "the deliveries to be recorded")
    listed = api.get("/api/apps/hooked/webhook-deliveries").json()
    assert {d["status"] for d in listed} == {"succeeded"} and len(listed) == 3
    assert "secret" not in api.get("/api/apps/hooked/webhooks").json()[0]


def test_a_failing_endpoint_is_retried_with_backoff_for_a_day(
    api, user, deployed, devloop_receiver
):
    app_create(user=user, name="flaky")
    _add(api, "flaky", devloop_receiver.url, include="api:release")
    devloop_receiver.codes = [500, 503]
    deployed("flaky")  # no worker here: each attempt below is made by hand, clock given
    delivery = WebhookDelivery.objects.get(action="created")
    start = timezone.now()

    assert webhooks.webhook_deliver(delivery_id=delivery.pk, now=start) == "retrying"
    assert webhooks.webhook_deliver(delivery_id=delivery.pk, now=start) is None  # not due yet
    later = start + timedelta(minutes=1, seconds=1)
    assert webhooks.webhook_deliver(delivery_id=delivery.pk, now=later) == "retrying"
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.last_status_code == 503
    assert delivery.next_attempt_at == later + timedelta(minutes=2)
    assert webhooks.webhook_deliver(delivery_id=delivery.pk,
                                    now=later + timedelta(minutes=2)) == "succeeded"
    bodies = [r["body"] for r in devloop_receiver.requests]
    assert len(bodies) == 3 and len(set(bodies)) == 1  # the same signed body every time

    # An endpoint that keeps failing is given up on after 24 hours.
    second = WebhookDelivery.objects.exclude(pk=delivery.pk).get()
    devloop_receiver.codes = [500] * 3
    assert webhooks.webhook_deliver(delivery_id=second.pk, now=start) == "retrying"
    assert webhooks.webhook_deliver(delivery_id=second.pk,
                                    now=start + timedelta(hours=23, minutes=59)) == "failed"


def test_a_dead_endpoint_delays_neither_the_deploy_nor_other_webhooks(
    api, user, deployed, devloop_receiver, settings
):
    settings.PIER_WEBHOOK_TIMEOUT = 20
    dead, held = socket.socket(), []  # accepts connections, never answers
    dead.bind(("127.0.0.1", 0))
    dead.listen(8)
    threading.Thread(target=lambda: held.extend(iter(lambda: dead.accept()[0], None)),
                     daemon=True).start()
    app_create(user=user, name="mixed")
    dead_hook = _add(api, "mixed", f"http://127.0.0.1:{dead.getsockname()[1]}/",
                     include="api:release")
    _add(api, "mixed", devloop_receiver.url, include="api:release")
    try:
        # The deploy only records and queues deliveries: nothing is sent while it runs.
        deployed("mixed")
        assert WebhookDelivery.objects.filter(status="pending", attempts=0).count() == 4

        with start_worker(celery_app, pool="threads", concurrency=8, perform_ping_check=False,
                          queues=[settings.PIER_ONEOFF_QUEUE], hostname="oneoff@devloop-dead",
                          shutdown_timeout=60):
            stuck = WebhookDelivery.objects.filter(webhook_id=dead_hook["id"])
            _wait(lambda: len(held) == 2, "both dead attempts to connect")
            devloop_receiver.wait_for(2)
            live = WebhookDelivery.objects.exclude(webhook_id=dead_hook["id"])
            _wait(lambda: {d.status for d in live.all()} == {"succeeded"}, "live ones recorded")
            # The live endpoint had both its events while the dead one's attempts still hang.
            assert {(d.status, d.attempts) for d in stuck.all()} == {("pending", 1)}
            for connection in held:  # the dead endpoint hangs up: its attempts end now
                connection.close()
            _wait(lambda: {d.status for d in stuck.all()} == {"retrying"}, "dead ones retried")
    finally:
        dead.close()


def _wait(condition, what: str, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.1)


def test_webhook_input_errors_say_what_to_do(api, user):
    app_create(user=user, name="badhook")
    cases = [
        ({"url": "ftp://x.example/", "include": "api:build"}, "must be https://"),
        ({"url": "https://x.example/", "include": "api:nothing"}, "unknown webhook event"),
        ({"url": "https://x.example/", "include": ""}, "include names the events"),
    ]
    for body, message in cases:
        response = api.post("/api/apps/badhook/webhooks", body, format="json")
        assert response.status_code == 422 and message in response.json()["message"], body
    assert api.delete("/api/apps/badhook/webhooks/not-an-id").status_code == 404
    assert App.objects.get(name="badhook").webhooks.count() == 0


@pytest.mark.docker
def test_a_crashing_process_fires_a_dyno_event(api, user, devloop_build, devloop_receiver):
    from api.desired import desired_state
    from pier import runtime_config
    from pier.management.commands.runtime import ReportingReconciler
    from runtime.reconciler import Reconciler
    from runtime.router.memory import Router as MemoryRouter

    app_create(user=user, name="crashy")
    _add(api, "crashy", devloop_receiver.url, include="dyno")
    devloop_build("crashy", {"Procfile": "web: sh -c 'exit 7'\n"})
    backend = runtime_config.runtime_backend()
    runtime = ReportingReconciler(Reconciler(backend, MemoryRouter(), domain="localhost"),
                                  backend)

    def crashed():
        runtime.reconcile(desired_state())
        return WebhookDelivery.objects.filter(event="dyno", action="crashed").first()

    delivery = _wait_for(crashed, "the crash to be reported")
    body = json.loads(delivery.body)
    assert body["data"]["name"] == "web.1" and body["data"]["exit_code"] == 7
    assert body["app"]["name"] == "crashy"


def _wait_for(condition, what: str, limit: float = 60):
    deadline = time.monotonic() + limit
    while not (result := condition()):
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.5)
    return result
