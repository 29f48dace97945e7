"""Automated Certificate Management against a real ACME server (Pebble) and a real HAProxy.

Pebble validates HTTP-01 by asking the router on its HTTP port; pebble-challtestsrv
resolves every name to 127.0.0.1 (and fails the names a test tells it to).
"""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import time

import httpx
import pytest

from api.desired import desired_app
from api.models import App, Certificate
from api.tasks import certs_issue_task, certs_renew_task
from pier import runtime_config
from runtime.applog import stream_key
from runtime.router import haproxy_tls
from runtime.router.base import Route
from tests.integration.https.test_router_tls import free_port, https_get
from tests.integration.runtime.rt_helpers import Upstream

pytestmark = pytest.mark.skipif(not shutil.which("pebble"), reason="apt-get install pebble")


def wait_for(url: str, verify) -> None:
    for _ in range(200):
        try:
            httpx.get(url, verify=verify)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} never answered")


@pytest.fixture
def pebble(tmp_path):
    """Pebble + challtestsrv; yields (directory URL, its TLS CA file, a root fetcher,
    challtestsrv's management URL, the HTTP port Pebble validates on)."""
    work = tmp_path / "pebble"
    work.mkdir()
    (work / "tls.pem").write_text(haproxy_tls.self_signed_pem("localhost"))
    tls_ca = work / "tls.pem"  # the bundle holds the certificate: enough to trust it
    acme, mgmt, dns, chall, http01 = (free_port() for _ in range(5))
    (work / "pebble.json").write_text(json.dumps({"pebble": {
        "listenAddress": f"127.0.0.1:{acme}", "managementListenAddress": f"127.0.0.1:{mgmt}",
        "certificate": str(tls_ca), "privateKey": str(tls_ca),
        "httpPort": http01, "tlsPort": free_port(), "ocspResponderURL": "",
        "externalAccountBindingRequired": False}}))
    log = open(tmp_path / "pebble.log", "wb")  # closed below
    processes = [
        subprocess.Popen(["pebble-challtestsrv", "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
                          "-dns01", f"127.0.0.1:{dns}", "-http01", "", "-https01", "",
                          "-tlsalpn01", "", "-management", f"127.0.0.1:{chall}"],
                         stdout=log, stderr=log),
        subprocess.Popen(["pebble", "-config", str(work / "pebble.json"),
                          "-dnsserver", f"127.0.0.1:{dns}"], stdout=log, stderr=log,
                         env={"PEBBLE_VA_NOSLEEP": "1", "PATH": "/usr/bin:/bin"}),
    ]
    verify = ssl.create_default_context(cafile=str(tls_ca))
    wait_for(f"https://localhost:{acme}/dir", verify)
    wait_for(f"http://127.0.0.1:{chall}/", None)

    def root() -> str:
        root_pem = httpx.get(f"https://localhost:{mgmt}/roots/0", verify=verify).text
        path = work / "root.pem"
        path.write_text(root_pem)
        return str(path)

    yield f"https://localhost:{acme}/dir", str(tls_ca), root, f"http://127.0.0.1:{chall}", http01
    for process in processes:
        process.terminate()
        process.wait(10)
    log.close()


@pytest.fixture
def platform_router(pebble, settings, tmp_path, redis_client):
    """The platform's own router (runtime_config), on the port Pebble validates against."""
    directory, tls_ca, _, _, http_port = pebble
    settings.PIER_DATA_DIR = tmp_path / "data"
    settings.PIER_ROUTER_PORT = http_port
    settings.PIER_ROUTER_HTTPS_PORT = free_port()
    settings.PIER_ACME_DIRECTORY = directory
    settings.PIER_ACME_CA_BUNDLE = tls_ca
    settings.PIER_ACME_EMAIL = "ops@example.test"
    router = runtime_config.router()
    with open(tmp_path / "router.log", "wb") as log:
        process = router.start(stderr=log)
    upstream = Upstream()
    yield router, upstream
    upstream.stop()
    process.terminate()
    process.wait(10)


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
