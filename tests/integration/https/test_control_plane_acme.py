"""The control plane's own certificate by ACME (PIER_API_HOST set, no operator files),
against a real ACME server (Pebble) and a real HAProxy: the same order, account, backoff
and renewal as apps' certificates (fixtures in conftest.py)."""

from __future__ import annotations

import shutil
import socket
import ssl

import httpx
import pytest
from cryptography import x509
from rest_framework.test import APIClient

from api.models import Certificate
from api.tasks import certs_issue_task, certs_renew_task
from tests.integration.https.test_router_tls import https_get
from tests.integration.runtime.rt_helpers import Upstream

pytestmark = [pytest.mark.skipif(not shutil.which("pebble"), reason="apt-get install pebble"),
              pytest.mark.django_db]

API_HOST = "pier.localhost"


@pytest.fixture(autouse=True)
def control_plane(settings):
    """An Echo server on PORT stands for the control plane (the router sends PIER_API_HOST
    there); autouse, so the settings are in place before ``platform_router`` builds it."""
    upstream = Upstream()
    settings.PIER_API_HOST = API_HOST
    settings.PIER_API_CERT_FILE = settings.PIER_API_KEY_FILE = ""
    settings.PIER_PORT = upstream.port
    yield upstream
    upstream.stop()


def served_leaf(https_port: int, ca: str) -> bytes:
    """The DER certificate the router serves for PIER_API_HOST, verified against ``ca``."""
    context = ssl.create_default_context(cafile=ca)
    with socket.create_connection(("127.0.0.1", https_port), timeout=5) as raw, \
            context.wrap_socket(raw, server_hostname=API_HOST) as tls:
        return tls.getpeercert(binary_form=True)


def leaf_der(chain_pem: str) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    return x509.load_pem_x509_certificate(chain_pem.encode()).public_bytes(Encoding.DER)


def order(django_capture_on_commit_callbacks) -> Certificate:
    """What beat and the worker do: the periodic check queues the order, the worker runs it."""
    with django_capture_on_commit_callbacks() as queued:
        assert certs_renew_task() == 1
    assert len(queued) == 1
    certs_issue_task(Certificate.objects.get(app=None).pk)
    return Certificate.objects.get(app=None)


def test_control_plane_certificate_issued_served_and_renewed_without_reload(
        pebble, platform_router, settings, django_capture_on_commit_callbacks):
    router, _ = platform_router
    https_port = settings.PIER_ROUTER_HTTPS_PORT
    options = {"https_listen": f"127.0.0.1:{https_port}"}
    router.apply([])  # the runtime's pass before any certificate: the router's own default
    pid = router._worker_pid()

    cert = order(django_capture_on_commit_callbacks)
    assert cert.state == "issued" and "Pebble" in cert.issuer, cert.last_error
    assert cert.domains == [API_HOST] and cert.next_attempt_at > cert.updated_at
    health = APIClient().get("/api/health").json()
    assert health["api_certificate"] == {
        "host": API_HOST, "state": "issued", "issuer": cert.issuer,
        "not_after": cert.not_after.isoformat(), "last_error": ""}

    router.apply([])  # the runtime's next pass installs it
    root = pebble[2]()
    assert served_leaf(https_port, root) == leaf_der(cert.chain_pem)
    seen = https_get(options, API_HOST, root)
    assert seen.status_code == 200 and seen.json()["x-forwarded-proto"] == "https"
    # Plain HTTP to the control plane goes to HTTPS now that a valid certificate serves it.
    plain = httpx.head(f"http://127.0.0.1:{settings.PIER_ROUTER_PORT}/api/health?q=1",
                       headers={"Host": API_HOST})
    assert plain.status_code == 301
    assert plain.headers["location"] == f"https://{API_HOST}:{https_port}/api/health?q=1"

    # Renewal, by the same periodic task as apps': a new certificate replaces the old one.
    # The redirect is on meanwhile: Pebble's plain-HTTP challenge must still be answered.
    Certificate.objects.filter(pk=cert.pk).update(next_attempt_at=None)
    renewed = order(django_capture_on_commit_callbacks)
    assert renewed.state == "issued", renewed.last_error
    assert renewed.chain_pem != cert.chain_pem
    router.apply([])
    assert served_leaf(https_port, root) == leaf_der(renewed.chain_pem)
    assert router._worker_pid() == pid, "installing and renewing must not reload HAProxy"


def test_a_failing_validation_leaves_the_control_plane_on_plain_http(
        pebble, platform_router, settings, django_capture_on_commit_callbacks):
    router, _ = platform_router
    httpx.post(f"{pebble[3]}/set-servfail", json={"host": f"{API_HOST}."})

    cert = order(django_capture_on_commit_callbacks)
    assert cert.state == "failing" and cert.failures == 1 and not cert.chain_pem
    assert API_HOST in cert.last_error and "resolve" in cert.last_error
    health = APIClient().get("/api/health").json()["api_certificate"]
    assert health["state"] == "failing" and health["last_error"] == cert.last_error
    # The next check leaves it to its backoff.
    assert certs_renew_task() == 0

    # No redirect to an HTTPS that would serve the router's self-signed default.
    router.apply([])
    plain = httpx.get(f"http://127.0.0.1:{settings.PIER_ROUTER_PORT}/api/health",
                      headers={"Host": API_HOST})
    assert plain.status_code == 200
    assert plain.json()["x-forwarded-proto"] == "http"
