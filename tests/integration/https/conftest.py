"""A real ACME server (Pebble + pebble-challtestsrv) and the platform's own HAProxy router
on the HTTP port Pebble validates against: for the apps' and the control plane's ACME tests."""

from __future__ import annotations

import json
import ssl
import subprocess

import httpx
import pytest

from pier import runtime_config
from runtime.router import haproxy_tls
from tests.helpers import free_port, wait_for
from tests.integration.runtime.rt_helpers import Upstream


def wait_for_url(url: str, verify) -> None:
    wait_for(lambda: httpx.get(url, verify=verify) is not None, timeout=10, what=f"{url} to answer",
             interval=0.05, ignoring=(httpx.TransportError,))


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
                         # Pebble rejects 5% of nonces at random by default; the client
                         # retries those, but a test that checks which error an order ends
                         # with must not end on a dice roll.
                         env={"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0",
                              "PATH": "/usr/bin:/bin"}),
    ]
    verify = ssl.create_default_context(cafile=str(tls_ca))
    wait_for_url(f"https://localhost:{acme}/dir", verify)
    wait_for_url(f"http://127.0.0.1:{chall}/", None)

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
