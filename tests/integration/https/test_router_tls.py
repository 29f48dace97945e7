"""HTTPS on the HAProxy router: certificates installed through its runtime API (no reload),
kept across a restart, ACME challenges answered for every host. Real HAProxy throughout."""

from __future__ import annotations

import hashlib
import socket
import ssl
import threading

import httpx
import pytest

from runtime.router import haproxy_tls
from runtime.router.base import Route
from runtime.router.haproxy import Router
from tests.helpers import free_port, wait_for
from tests.integration.runtime.rt_helpers import Upstream


@pytest.fixture
def upstream():
    server = Upstream()
    yield server
    server.stop()


@pytest.fixture
def tls_router(tmp_path):
    """Start a router with HTTPS; yields (Router, options, restart) with ports in options."""
    options = dict(state_dir=tmp_path / "state", listen=f"127.0.0.1:{free_port()}",
                   https_listen=f"127.0.0.1:{free_port()}", access_log="discard")
    processes = []

    def start():
        with open(tmp_path / "haproxy.log", "ab") as log:
            processes.append(Router(**options).start(stderr=log))

    def restart():
        processes[-1].terminate()
        processes[-1].wait(10)
        start()

    start()
    yield Router(**options), options, restart
    processes[-1].terminate()
    processes[-1].wait(10)


def port_of(listen: str) -> int:
    return int(listen.rsplit(":", 1)[1])


def pem_for(tmp_path, host: str) -> tuple[str, str]:
    """A self-signed certificate for ``host``: (bundle with key, CA file path)."""
    bundle = haproxy_tls.self_signed_pem(host)
    ca = tmp_path / f"{host}-{len(list(tmp_path.iterdir()))}.crt"
    ca.write_text(bundle.split("-----BEGIN PRIVATE KEY-----")[0])
    return bundle, str(ca)


def served_fingerprint(pem: str) -> str:
    """SHA-256 of a PEM certificate's DER form, as a TLS client sees it."""
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()


def https_get(options, host: str, ca: str, client: httpx.Client | None = None):
    url = f"https://127.0.0.1:{port_of(options['https_listen'])}/"
    request = dict(headers={"Host": host}, extensions={"sni_hostname": host})
    if client:
        return client.get(url, **request)
    with httpx.Client(verify=ssl.create_default_context(cafile=ca)) as fresh:
        return fresh.get(url, **request)


def test_certificate_installed_replaced_removed_without_reload(tls_router, upstream, tmp_path):
    router, options, _ = tls_router
    bundle, ca = pem_for(tmp_path, "echo.localhost")
    router.apply([Route("echo", ["echo.localhost"], [upstream.address])])
    pid = router._worker_pid()
    router.apply([Route("echo", ["echo.localhost"], [upstream.address], certificate=bundle)])
    assert router._worker_pid() == pid, "a certificate change must not reload HAProxy"
    seen = https_get(options, "echo.localhost", ca).json()
    assert seen["x-forwarded-proto"] == "https"
    key_file = tmp_path / "state" / "certs" / "echo.pem"
    assert key_file.read_text() == bundle and key_file.stat().st_mode & 0o077 == 0

    # Replaced while a keep-alive client keeps asking: no request fails, every one is served
    # with the old or the new certificate (never the default), and the new one serves after.
    # (Checked by fingerprint: OpenSSL cannot verify two self-signed certificates of the same
    # name from one CA file, it tries the first it finds.)
    new_bundle, new_ca = pem_for(tmp_path, "echo.localhost")
    accepted = {served_fingerprint(open(f).read()) for f in (ca, new_ca)}
    failures, served, stop = [], [], threading.Event()

    def loop():
        with httpx.Client(verify=False) as client:
            while not stop.is_set():
                try:
                    response = https_get(options, "echo.localhost", "", client)
                    response.raise_for_status()
                    peer = response.extensions["network_stream"].get_extra_info("ssl_object")
                    der = peer.getpeercert(True)
                    if hashlib.sha256(der).hexdigest() not in accepted:
                        failures.append("served a certificate that is neither old nor new")
                    served.append(der)
                except Exception as e:  # any failure, TLS or HTTP, is one the test reports
                    failures.append(e)

    thread = threading.Thread(target=loop)
    thread.start()
    wait_for(lambda: served or failures, what="the first request of the loop")
    router.apply([Route("echo", ["echo.localhost"], [upstream.address], certificate=new_bundle)])
    after = len(served)
    wait_for(lambda: len(served) > after + 5 or failures, what="requests after the replacement")
    stop.set()
    thread.join()
    assert failures == []
    assert https_get(options, "echo.localhost", new_ca).status_code == 200
    with pytest.raises(httpx.ConnectError):
        https_get(options, "echo.localhost", ca)
    assert router._worker_pid() == pid

    router.apply([Route("echo", ["echo.localhost"], [upstream.address])])
    with pytest.raises(httpx.ConnectError):  # the self-signed default certificate now
        https_get(options, "echo.localhost", new_ca)
    assert not key_file.exists()
    assert router._worker_pid() == pid


def test_certificates_survive_a_router_restart_and_reloads(tls_router, upstream, tmp_path):
    router, options, restart = tls_router
    one, one_ca = pem_for(tmp_path, "one.localhost")
    two, two_ca = pem_for(tmp_path, "www.example.test")
    router.apply([Route("one", ["one.localhost"], [upstream.address], certificate=one),
                  Route("two", ["two.localhost", "www.example.test"], [upstream.address],
                        certificate=two)])
    restart()
    assert https_get(options, "one.localhost", one_ca).status_code == 200
    assert https_get(options, "www.example.test", two_ca).status_code == 200
    # A reload (a new app) keeps them too.
    router.apply([Route("one", ["one.localhost"], [upstream.address], certificate=one),
                  Route("two", ["two.localhost", "www.example.test"], [upstream.address],
                        certificate=two),
                  Route("three", ["three.localhost"], [upstream.address])])
    assert https_get(options, "one.localhost", one_ca).status_code == 200
    assert https_get(options, "www.example.test", two_ca).status_code == 200


def test_h2_and_modern_tls_only(tls_router, upstream, tmp_path):
    router, options, _ = tls_router
    bundle, ca = pem_for(tmp_path, "echo.localhost")
    router.apply([Route("echo", ["echo.localhost"], [upstream.address], certificate=bundle)])
    port = port_of(options["https_listen"])
    context = ssl.create_default_context(cafile=ca)
    context.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection(("127.0.0.1", port)) as raw:
        with context.wrap_socket(raw, server_hostname="echo.localhost") as tls:
            assert tls.selected_alpn_protocol() == "h2"
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.load_verify_locations(ca)
    old.minimum_version = old.maximum_version = ssl.TLSVersion.TLSv1_1
    old.set_ciphers("ALL:@SECLEVEL=0")
    with socket.create_connection(("127.0.0.1", port)) as raw:
        with pytest.raises(ssl.SSLError):
            old.wrap_socket(raw, server_hostname="echo.localhost")


def test_acme_challenges_answered_for_any_host_and_kept_across_reloads(tls_router, upstream):
    router, options, _ = tls_router
    router.apply([Route("echo", ["echo.localhost"], [upstream.address])])
    router.add_challenge("tok-en_1", "tok-en_1.thumb_print")
    url = f"http://127.0.0.1:{port_of(options['listen'])}/.well-known/acme-challenge/tok-en_1"
    for host in ("echo.localhost", "unknown.example.test"):
        answer = httpx.get(url, headers={"Host": host})
        assert answer.status_code == 200 and answer.text == "tok-en_1.thumb_print"
    router.apply([Route("echo", ["echo.localhost"], [upstream.address]),
                  Route("new", ["new.localhost"], [])])  # a reload
    assert httpx.get(url, headers={"Host": "new.localhost"}).text == "tok-en_1.thumb_print"
    router.remove_challenge("tok-en_1")
    assert httpx.get(url, headers={"Host": "echo.localhost"}).status_code == 200  # the app's
    assert "thumb_print" not in httpx.get(url, headers={"Host": "echo.localhost"}).text
    with pytest.raises(Exception, match="not an ACME token"):
        router.add_challenge("x; shutdown sessions", "y")


def http_get(options, host: str, path: str = "/") -> httpx.Response:
    return httpx.get(f"http://127.0.0.1:{port_of(options['listen'])}{path}",
                     headers={"Host": host})


def test_http_redirects_to_https_for_covered_hosts_without_reload(tls_router, upstream,
                                                                   tmp_path):
    router, options, restart = tls_router
    bundle, ca = pem_for(tmp_path, "echo.localhost")
    hosts = ["echo.localhost", "www.example.test"]  # the certificate covers the first only
    router.apply([Route("echo", hosts, [upstream.address])])
    pid = router._worker_pid()
    assert http_get(options, "echo.localhost").status_code == 200  # no certificate yet

    router.apply([Route("echo", hosts, [upstream.address], certificate=bundle)])
    moved = http_get(options, "Echo.localhost:8080", "/a/b?c=1&d=%20")
    assert moved.status_code == 301
    https_port = port_of(options["https_listen"])
    assert moved.headers["location"] == f"https://echo.localhost:{https_port}/a/b?c=1&d=%20"
    assert https_get(options, "echo.localhost", ca).status_code == 200
    assert http_get(options, "www.example.test").status_code == 200  # not covered
    # ACME's HTTP-01 requests are never redirected: the router's answers and the app's.
    challenge = "/.well-known/acme-challenge/tok1"
    assert http_get(options, "echo.localhost", challenge).status_code == 200  # the app
    router.add_challenge("tok1", "tok1.thumb")
    assert http_get(options, "echo.localhost", challenge).text == "tok1.thumb"
    assert router._worker_pid() == pid, "turning redirects on must not reload HAProxy"

    restart()  # the map is kept on disk
    assert http_get(options, "echo.localhost").status_code == 301
    pid = router._worker_pid()
    router.apply([Route("echo", hosts, [upstream.address], certificate=bundle,
                        https_redirect=False)])
    assert http_get(options, "echo.localhost").status_code == 200
    router.apply([Route("echo", hosts, [upstream.address], certificate=bundle)])
    assert http_get(options, "echo.localhost").status_code == 301
    router.apply([Route("echo", hosts, [upstream.address])])  # certificate removed
    assert http_get(options, "echo.localhost").status_code == 200
    assert router._worker_pid() == pid
