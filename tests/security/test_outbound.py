"""Drains reach public addresses only: no platform Redis, no metadata service, no port scans.

The attack: a drain to 127.0.0.1:6379 (the platform's Redis on TCP), 169.254.169.254 (cloud
metadata) or any private range turns Pier into a client of the host's own network. Refused
at add time through the real API, and again at every connect (DNS rebinding), with real
sockets listening where the attacker aimed.
"""

from __future__ import annotations

import ipaddress
import socket
import time
import uuid

import pytest

from api.models import Drain as DrainRow
from runtime import applog
from runtime.drains import Drain, check_destination
from runtime.outbound import Policy, Refused, Unresolved, own_address, parse_allow, rule_broken
from tests.helpers import SyslogListener, fresh_app


@pytest.fixture
def app_name(api):
    name = f"out{uuid.uuid4().hex[:8]}"
    assert api.post("/api/apps", {"name": name}, format="json").status_code == 201
    return name


@pytest.mark.parametrize(
    ("host", "shown", "rule"),
    [
        ("127.0.0.1", "127.0.0.1", "a loopback address"),
        ("localhost", "localhost resolves to 127.0.0.1, which", "a loopback address"),
        ("169.254.169.254", "169.254.169.254", "a link-local address"),
        ("10.1.2.3", "10.1.2.3", "a private address"),
        ("172.17.0.1", "172.17.0.1", "a private address"),
        ("192.168.1.1", "192.168.1.1", "a private address"),
        ("100.64.0.1", "100.64.0.1", "a shared (CGNAT) address"),
        ("[::1]", "::1", "a loopback address"),
        ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1", "a loopback address"),
        ("[::ffff:169.254.169.254]", "::ffff:169.254.169.254", "a link-local address"),
        ("[2002:7f00:1::]", "2002:7f00:1::", "a loopback address"),  # 6to4 of 127.0.0.1
        ("[fe80::1]", "fe80::1", "a link-local address"),
        ("[fd00::2]", "fd00::2", "a private address"),
        ("0.0.0.0", "0.0.0.0", "an unspecified address"),
        ("224.0.0.1", "224.0.0.1", "a multicast address"),
        ("240.0.0.1", "240.0.0.1", "a reserved address"),
    ],
)
def test_a_drain_to_a_non_public_address_is_refused_by_the_api(api, app_name, host, shown, rule):
    response = api.post(f"/api/apps/{app_name}/drains", {"url": f"syslog://{host}:6379"},
                        format="json")
    assert response.status_code == 422
    message = response.json()["message"]
    assert message.startswith(f"drain host {shown.split(' ')[0]}")
    assert f"{shown} is {rule}:" in message
    assert "only connects to public addresses" in message and "PIER_OUTBOUND_ALLOW" in message
    assert not DrainRow.objects.filter(app__name=app_name).exists()


def test_an_https_drain_to_metadata_and_a_name_that_does_not_resolve_are_refused(api, app_name):
    metadata = api.post(f"/api/apps/{app_name}/drains",
                        {"url": "http://169.254.169.254/latest/meta-data/"}, format="json")
    assert metadata.status_code == 422 and "link-local" in metadata.json()["message"]
    unknown = api.post(f"/api/apps/{app_name}/drains",
                       {"url": "syslog://no-such-host.invalid:514"}, format="json")
    assert unknown.status_code == 422
    assert "drain host no-such-host.invalid does not resolve" in unknown.json()["message"]


def test_a_public_address_is_accepted(api, app_name):
    response = api.post(f"/api/apps/{app_name}/drains", {"url": "syslog+tls://8.8.8.8:6514"},
                        format="json")
    assert response.status_code == 201


def test_the_operator_allow_list_lets_a_range_through(api, app_name, settings):
    settings.PIER_OUTBOUND_ALLOW = "10.0.0.0/8, 127.0.0.0/8"
    for url in ("syslog://127.0.0.1:6514", "syslog://localhost:6515", "https://10.9.8.7/logs"):
        assert api.post(f"/api/apps/{app_name}/drains", {"url": url},
                        format="json").status_code == 201, url
    # Only the listed ranges: the metadata address stays refused.
    refused = api.post(f"/api/apps/{app_name}/drains", {"url": "syslog://169.254.169.254:80"},
                       format="json")
    assert refused.status_code == 422


def test_a_bad_allow_list_names_the_bad_entry():
    with pytest.raises(ValueError, match="PIER_OUTBOUND_ALLOW: 'ten' is not a CIDR range"):
        parse_allow("127.0.0.0/8,ten")


def test_the_rules_cover_addresses_hidden_in_ipv6_and_the_hosts_own():
    def rule(text):
        return rule_broken(ipaddress.ip_address(text))

    assert rule("64:ff9b::a9fe:a9fe") == "a link-local address"  # NAT64 of 169.254.169.254
    assert rule("::7f00:1") == "a reserved address"  # IPv4-compatible, deprecated
    assert rule("ff02::1") == "a multicast address"
    assert rule("255.255.255.255") == "a reserved address"
    assert rule("8.8.8.8") is None and rule("2606:4700:4700::1111") is None
    # Only this host's addresses can be bound to: a real bind, no list to keep in sync.
    assert own_address(ipaddress.ip_address("127.0.0.1"))
    assert own_address(ipaddress.ip_address("::1"))
    assert not own_address(ipaddress.ip_address("8.8.8.8"))


# -- at connect time: DNS rebinding --------------------------------------------------------


class Rebinding:
    """A resolver answering a public address first, then 127.0.0.1: a rebinding DNS name."""

    def __init__(self):
        self.calls = 0

    def __call__(self, host, port, **kwargs):
        self.calls += 1
        address = "8.8.8.8" if self.calls == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]


@pytest.fixture
def stream_app(redis_client):
    with fresh_app(redis_client) as name:
        yield name


@pytest.mark.parametrize("scheme", ["syslog", "http"])
def test_a_name_rebound_to_localhost_after_it_was_added_gets_nothing(redis_client, stream_app,
                                                                    scheme):
    listener = SyslogListener()
    try:
        url = f"{scheme}://logs.attacker.example:{listener.port}"
        policy = Policy(resolver=Rebinding())
        check_destination(url, policy)  # what the API checked: a public address
        drain = Drain(redis_client, stream_app, url, policy=policy, block=0.01)
        drain.step()
        applog.append(redis_client, stream_app, source="app", dyno="web.1",
                      message="SET pwned 1")
        drain.step()
        assert drain.stop_event.is_set()  # stopped, not retried forever
        time.sleep(0.2)  # a connection would have been accepted by now
        assert listener.accepted == 0 and listener.data == b""
        last = redis_client.xrevrange(applog.stream_key(stream_app), count=1)[0][1]
        assert (last["source"], last["dyno"]) == ("pier", "logs")
        assert last["line"].startswith(f"Drain {url} stopped, nothing sent: drain host "
                                       "logs.attacker.example resolves to 127.0.0.1, which is "
                                       "a loopback address")
    finally:
        listener.close()


def test_the_connect_goes_to_the_address_checked_not_a_second_lookup():
    listener = SyslogListener()
    answers = iter(["127.0.0.1", "203.0.113.9"])  # a second lookup would get another one

    def resolver(host, port, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    try:
        policy = Policy(["127.0.0.0/8"], resolver=resolver)
        with policy.connect("logs.example", listener.port, timeout=5) as sock:
            assert sock.getpeername() == ("127.0.0.1", listener.port)
        with pytest.raises(Refused, match="203.0.113.9, which is a reserved address"):
            policy.connect("logs.example", listener.port, timeout=5)
    finally:
        listener.close()


def test_a_name_that_stops_resolving_is_retried_not_refused():
    def resolver(host, port, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(Unresolved):  # an OSError: the drain backs off and tries again
        Policy(resolver=resolver).connect("logs.example", 514)
