"""The control plane on PIER_API_HOST over HTTPS: what a client must not be able to claim.

- X-Forwarded-Proto is believed from the router on loopback only: a client reaching the
  control plane's port directly cannot pass a plain request off as HTTPS.
- No app may be named so that its default host is the control plane's host name: ACME
  would otherwise issue its owner a certificate for the control plane.
"""

import pytest
from django.test import Client


@pytest.fixture
def hsts(settings):
    settings.SECURE_HSTS_SECONDS = 3600
    return Client()


@pytest.mark.django_db
def test_forwarded_proto_from_a_remote_client_is_ignored(hsts):
    spoofed = hsts.get("/api/health", HTTP_X_FORWARDED_PROTO="https", REMOTE_ADDR="203.0.113.9")
    assert spoofed.status_code == 200
    assert "Strict-Transport-Security" not in spoofed.headers


@pytest.mark.django_db
def test_forwarded_proto_from_the_router_on_loopback_is_believed(hsts):
    for address in ("127.0.0.1", "::1"):
        routed = hsts.get("/api/health", HTTP_X_FORWARDED_PROTO="https", REMOTE_ADDR=address)
        assert routed.headers["Strict-Transport-Security"] == "max-age=3600"
    plain = hsts.get("/api/health", REMOTE_ADDR="127.0.0.1")
    assert "Strict-Transport-Security" not in plain.headers


def test_an_app_cannot_take_the_control_planes_host_name(api, settings):
    settings.PIER_API_HOST = "pier.localhost"
    refused = api.post("/api/apps", {"name": "pier"}, format="json")
    assert refused.status_code == 422, refused.json()
    assert "taken by the control plane (pier.localhost)" in refused.json()["message"]
    assert api.post("/api/apps", {"name": "other"}, format="json").status_code == 201
    renamed = api.patch("/api/apps/other", {"name": "pier"}, format="json")
    assert renamed.status_code == 422
