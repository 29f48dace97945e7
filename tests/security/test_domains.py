"""Finding 7: any hostname could be claimed, so an app could take traffic meant for others."""

import pytest


@pytest.fixture
def app(api):
    assert api.post("/api/apps", {"name": "claimer"}, format="json").status_code == 201
    return "claimer"


def _add(api, hostname: str):
    return api.post("/api/apps/claimer/domains", {"hostname": hostname}, format="json")


@pytest.mark.parametrize(
    "hostname",
    ["127.0.0.1", "10.0.0.5", "192.168.1.1", "169.254.169.254", "::1", "[::1]",
     "fe80::1", "2001:db8::1", "2130706433.0", "127.1"],
)
def test_ip_literals_are_refused(api, app, hostname):
    response = _add(api, hostname)
    assert response.status_code == 422, response.content
    assert "IP address" in response.json()["message"]


def test_the_control_plane_host_names_are_refused(api, app, settings):
    settings.PIER_API_URL = "https://pier.example.org:5000"
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "admin.example.net", ".ops.example.com"]
    for hostname in ("pier.example.org", "PIER.example.org.", "admin.example.net",
                     "ops.example.com", "deep.ops.example.com"):
        response = _add(api, hostname)
        assert response.status_code == 422, (hostname, response.content)
        assert "control plane" in response.json()["message"]
    assert _add(api, "www.example.org").status_code == 201


def test_other_apps_names_under_pier_domain_are_refused(api, app, settings, make_user, client_for):
    settings.PIER_DOMAIN = "apps.example.com"
    other = client_for(make_user("victim@example.com"))
    assert other.post("/api/apps", {"name": "victim"}, format="json").status_code == 201
    for hostname in ("victim.apps.example.com", "Victim.Apps.Example.com.",
                     "x.victim.apps.example.com", "apps.example.com", "claimer.apps.example.com"):
        response = _add(api, hostname)
        assert response.status_code == 422, (hostname, response.content)
        assert "Pier's own domain apps.example.com" in response.json()["message"]


def test_a_domain_belongs_to_one_app_at_a_time(api, app, make_user, client_for):
    assert _add(api, "shop.example.com").status_code == 201
    other = client_for(make_user("second@example.com"))
    other.post("/api/apps", {"name": "second"}, format="json")
    taken = other.post("/api/apps/second/domains", {"hostname": "SHOP.example.com."},
                       format="json")
    assert taken.status_code == 409
    assert "already attached to another app" in taken.json()["message"]
