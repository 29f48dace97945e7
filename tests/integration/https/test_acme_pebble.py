"""Automated Certificate Management against a real ACME server (Pebble) and a real HAProxy.

Pebble validates HTTP-01 by asking the router on its HTTP port; pebble-challtestsrv
resolves every name to 127.0.0.1 (and fails the names a test tells it to).
"""

from __future__ import annotations

import shutil

import httpx
import pytest

from api.desired import desired_app
from api.models import App, Certificate
from api.tasks import certs_issue_task, certs_renew_task
from runtime.applog import stream_key
from runtime.router.base import Route
from tests.integration.https.test_router_tls import https_get
from tests.integration.runtime.rt_helpers import Upstream

pytestmark = pytest.mark.skipif(not shutil.which("pebble"), reason="apt-get install pebble")


def route(app_name: str, upstream: Upstream) -> Route:
    """The route the runtime's reconciler builds from the desired state (certificate too)."""
    desired = desired_app(app=App.objects.get(name=app_name))
    return Route(app_name, (f"{app_name}.localhost", *desired.domains), [upstream.address],
                 certificate=desired.certificate, https_redirect=desired.https_redirect)


def app_log(redis_client, app: str) -> str:
    key = stream_key(str(App.objects.get(name=app).id))  # app logs are keyed by the app's id
    return "\n".join(str(fields) for _, fields in redis_client.xrange(key))


def test_acm_issues_a_certificate_served_over_https(
        api, deployed, pebble, platform_router, settings, django_capture_on_commit_callbacks,
        redis_client):
    router, upstream = platform_router
    api.post("/api/apps", {"name": "myapp"}, format="json")
    deployed("myapp")
    with django_capture_on_commit_callbacks() as queued:
        answer = api.post("/api/apps/myapp/certs/auto")
    assert answer.status_code == 201 and answer.json()["domains"] == [
        {"hostname": "myapp.localhost", "status": "pending"}]
    assert len(queued) == 1  # the order goes to the worker, not the request
    cert = Certificate.objects.get(app__name="myapp")
    certs_issue_task(cert.pk)  # what the worker runs

    status = api.get("/api/apps/myapp/certs").json()
    assert status["state"] == "issued" and "Pebble" in status["issuer"], status["last_error"]
    assert status["domains"] == [{"hostname": "myapp.localhost", "status": "issued"}]
    assert "Certificate issued by" in app_log(redis_client, "myapp")

    router.apply([route("myapp", upstream)])
    options = {"https_listen": f"127.0.0.1:{settings.PIER_ROUTER_HTTPS_PORT}"}
    seen = https_get(options, "myapp.localhost", pebble[2]())
    assert seen.status_code == 200 and seen.json()["x-forwarded-proto"] == "https"
    assert (settings.PIER_DATA_DIR / "acme-account.json").stat().st_mode & 0o077 == 0
    # `curl -I http://myapp.localhost/`: a 301 to HTTPS now that a certificate covers it.
    plain = httpx.head(f"http://127.0.0.1:{settings.PIER_ROUTER_PORT}/?q=1",
                       headers={"Host": "myapp.localhost"})
    assert plain.status_code == 301
    assert plain.headers["location"] == (
        f"https://myapp.localhost:{settings.PIER_ROUTER_HTTPS_PORT}/?q=1")

    # Renewal: a due certificate is ordered again and replaced; HTTPS keeps serving. The
    # redirect is on meanwhile: Pebble's plain-HTTP challenge requests must not follow it.
    cert.refresh_from_db()
    Certificate.objects.filter(pk=cert.pk).update(next_attempt_at=None)
    with django_capture_on_commit_callbacks() as queued:
        assert certs_renew_task() == 1
    assert len(queued) == 1
    certs_issue_task(cert.pk)
    renewed = Certificate.objects.get(pk=cert.pk)
    assert renewed.state == "issued", renewed.last_error
    assert renewed.chain_pem != cert.chain_pem
    assert renewed.next_attempt_at > renewed.updated_at  # the next renewal, months away
    router.apply([route("myapp", upstream)])
    assert https_get(options, "myapp.localhost", pebble[2]()).status_code == 200

    api.delete("/api/apps/myapp/certs/redirect")
    router.apply([route("myapp", upstream)])
    assert httpx.get(f"http://127.0.0.1:{settings.PIER_ROUTER_PORT}/",
                     headers={"Host": "myapp.localhost"}).status_code == 200


def test_a_domain_the_ca_cannot_validate_fails_with_its_error(
        api, deployed, pebble, platform_router, settings, redis_client):
    router, upstream = platform_router
    _, _, _, challtestsrv, http_port = pebble
    api.post("/api/apps", {"name": "myapp"}, format="json")
    api.post("/api/apps/myapp/domains", {"hostname": "broken.example.test"}, format="json")
    httpx.post(f"{challtestsrv}/set-servfail", json={"host": "broken.example.test."})
    api.post("/api/apps/myapp/certs/auto")
    certs_issue_task(Certificate.objects.get(app__name="myapp").pk)

    status = api.get("/api/apps/myapp/certs").json()
    assert status["state"] == "failing"
    assert "broken.example.test" in status["last_error"] and "resolve" in status["last_error"]
    assert {d["status"] for d in status["domains"]} == {"failing"}
    assert "Certificate order failed" in app_log(redis_client, "myapp")
    failed = Certificate.objects.get(app__name="myapp")
    assert failed.failures == 1 and failed.next_attempt_at is not None
    # HTTP keeps serving the app meanwhile.
    router.apply([Route("myapp", ["myapp.localhost"], [upstream.address])])
    answer = httpx.get(f"http://127.0.0.1:{http_port}/", headers={"Host": "myapp.localhost"})
    assert answer.status_code == 200
