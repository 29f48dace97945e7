"""The HAProxy router on its own, against real HAProxy and real upstream servers."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time

import httpx
import pytest

from runtime.errors import RouterUnavailable
from runtime.logship import router_line
from runtime.router.base import Route
from runtime.router.haproxy import Router
from tests.helpers import free_port


@pytest.fixture
def haproxy(tmp_path):
    """A running HAProxy; yields (Router, HTTP port)."""
    port = free_port()
    options = dict(state_dir=tmp_path / "state", listen=f"127.0.0.1:{port}",
                   access_log=str(tmp_path / "access.log"))
    with open(tmp_path / "haproxy.log", "wb") as log:
        process = Router(**options).start(stderr=log)
        yield Router(**options), port, tmp_path
        process.terminate()
        process.wait(10)


def get(port, host, **headers):
    return httpx.get(f"http://127.0.0.1:{port}/", headers={"Host": host, **headers})


def test_pages_headers_and_access_log(haproxy, upstreams):
    router, port, tmp_path = haproxy
    echo = upstreams[0].address
    router.apply([
        Route("echo", ["echo.localhost", "WWW.example.test"], [echo]),
        Route("idle", ["idle.localhost"], []),
        Route("down", ["down.localhost"], [echo], maintenance=True),
    ])
    seen = get(port, "www.example.test:8080").json()
    assert seen["x-forwarded-for"] == "127.0.0.1"
    assert seen["x-forwarded-proto"] == "http" and seen["x-forwarded-port"] == str(port)
    assert len(seen["x-request-id"]) == 36
    assert get(port, "echo.localhost", **{"X-Request-Id": "kept"}).json()["x-request-id"] == "kept"
    idle = get(port, "idle.localhost")
    assert idle.status_code == 503 and "pier ps:scale web=1" in idle.text
    down = get(port, "down.localhost")
    assert down.status_code == 503 and "maintenance" in down.text
    nope = get(port, "nope.localhost")
    assert nope.status_code == 404 and "No such app" in nope.text

    def parsed_lines():
        lines = (tmp_path / "access.log").read_text().splitlines()
        return [router_line(json.loads(line)) for line in lines if line.startswith("{")]

    # The router process copies its log in batches (every 50 ms).
    deadline = time.monotonic() + 5
    while len(parsed := parsed_lines()) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    apps = [p[0] for p in parsed if p]
    assert apps.count("echo") == 2 and "idle" in apps and "down" in apps
    assert len(apps) == 4  # the unknown host is no app's line
    echo_line = next(p[2] for p in parsed if p and p[0] == "echo")
    assert 'path="/"' in echo_line and "status=200" in echo_line
    assert "host=www.example.test" in echo_line


def test_process_changes_keep_client_connections_and_reload_keeps_processes(
    haproxy, upstreams
):
    router, port, tmp_path = haproxy
    a, b, c = upstreams
    router.apply([Route("app", ["app.localhost"], [a.address])])
    # One keep-alive client connection through every change of processes: none is a reload.
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)

    def answer():
        connection.request("GET", "/", headers={"Host": "app.localhost"})
        response = connection.getresponse()
        assert response.status == 200
        return json.loads(response.read())["port"]

    assert answer() == a.port
    config = (tmp_path / "state" / "haproxy.cfg").read_text()
    router.apply([Route("app", ["app.localhost"], [b.address])])
    assert {answer() for _ in range(4)} == {b.port}
    router.apply([Route("app", ["app.localhost"], [a.address, b.address, c.address])])
    assert {answer() for _ in range(6)} == {a.port, b.port, c.port}
    assert (tmp_path / "state" / "haproxy.cfg").read_text() == config  # no reload so far
    connection.close()

    # A new app changes the config: after the reload the first app keeps its processes.
    router.apply([Route("app", ["app.localhost"], [a.address, b.address, c.address]),
                  Route("other", ["other.localhost"], [c.address])])
    assert {get(port, "app.localhost").json()["port"] for _ in range(6)} == {
        a.port, b.port, c.port}
    assert get(port, "other.localhost").json()["port"] == c.port


def test_access_log_has_every_request_once_across_a_reload(haproxy, upstreams):
    router, port, tmp_path = haproxy
    app = Route("app", ["app.localhost"], [upstreams[0].address])
    router.apply([app])

    def request(rid, path="/"):
        response = httpx.get(f"http://127.0.0.1:{port}{path}",
                             headers={"Host": "app.localhost", "X-Request-Id": rid})
        assert response.status_code == 200

    for i in range(5):
        request(f"before-{i}")
    # In flight on the old worker while the reload happens: logged when it ends.
    slow = threading.Thread(target=request, args=("in-flight", "/slow"))
    slow.start()
    time.sleep(0.3)
    router.apply([app, Route("other", ["other.localhost"], [upstreams[1].address])])
    for i in range(5):
        request(f"after-{i}")
    slow.join()

    wanted = {"in-flight", *(f"{w}-{i}" for w in ("before", "after") for i in range(5))}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = (tmp_path / "access.log").read_text().splitlines()
        # Only requests: HAProxy's own notices ("Proxy pier stopped") go to stderr.
        ids = [json.loads(line)["request_id"] for line in lines]
        if wanted <= set(ids):
            break
        time.sleep(0.1)
    assert sorted(ids) == sorted(wanted)  # each exactly once, nothing else


def test_more_processes_than_slots_grow_the_backend(haproxy, upstreams):
    router, port, _ = haproxy
    # Twenty addresses of the same three servers: more than the first slot count (8).
    addresses = [u.address for u in upstreams] + [
        f"127.0.0.{i}:{upstreams[0].port}" for i in range(2, 19)]
    router.apply([Route("big", ["big.localhost"], addresses)])
    assert len(router._servers()["app_big"]) >= 20
    seen = {get(port, "big.localhost").json()["port"] for _ in range(20)}
    assert seen == {u.port for u in upstreams}


def test_a_dead_process_gets_no_failed_requests(haproxy, upstreams):
    router, port, _ = haproxy
    a, b, _ = upstreams
    router.apply([Route("app", ["app.localhost"], [a.address, b.address])])
    assert {get(port, "app.localhost").json()["port"] for _ in range(4)} == {a.port, b.port}
    a.stop()  # gone before the runtime notices: connections to it are refused
    answers = [get(port, "app.localhost") for _ in range(10)]
    assert [r.status_code for r in answers] == [200] * 10
    assert {r.json()["port"] for r in answers} == {b.port}


def test_restarted_haproxy_serves_the_last_table(haproxy, upstreams, tmp_path):
    router, port, _ = haproxy
    router.apply([Route("app", ["app.localhost"], [upstreams[0].address])])
    with open(tmp_path / "second.log", "wb") as log:
        # A second HAProxy from the same files (the router process restarted), before the
        # runtime applies anything: it serves the last processes it had.
        second_port = free_port()
        state = tmp_path / "state"
        config = (state / "haproxy.cfg").read_text().replace(
            f"bind 127.0.0.1:{port}", f"bind 127.0.0.1:{second_port}")
        copy = tmp_path / "copy"
        copy.mkdir()
        for name in ("hosts.map", "servers.state"):
            (copy / name).write_bytes((state / name).read_bytes())
        (copy / "pages").symlink_to(state / "pages")
        config = config.replace(str(state), str(copy))
        (copy / "haproxy.cfg").write_text(config)
        second = Router(state_dir=copy, listen=f"127.0.0.1:{second_port}",
                        access_log="discard").start(stderr=log)
        try:
            assert get(second_port, "app.localhost").json()["port"] == upstreams[0].port
        finally:
            second.terminate()
            second.wait(10)


def test_router_not_running_is_router_unavailable(tmp_path):
    with pytest.raises(RouterUnavailable):
        Router(state_dir=tmp_path).apply([])


def websocket_echo_server() -> tuple[socket.socket, int]:
    """Answer one HTTP Upgrade with 101, then echo raw bytes (a WebSocket's framing is the
    app's business; the router only has to switch the connection to a tunnel)."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve():
        conn, _ = server.accept()
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                request += conn.recv(4096)
            assert b"upgrade: websocket" in request.lower()
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                         b"Connection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n")
            while data := conn.recv(4096):
                conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    return server, server.getsockname()[1]


def test_websocket_upgrade_is_tunnelled_and_outlives_a_reload(haproxy, upstreams):
    router, port, _ = haproxy
    server, app_port = websocket_echo_server()
    ws = Route("ws", ["ws.localhost"], [f"127.0.0.1:{app_port}"])
    router.apply([ws])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET /socket HTTP/1.1\r\nHost: ws.localhost\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     b"Sec-WebSocket-Version: 13\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(4096)
        assert head.startswith(b"HTTP/1.1 101")

        def echo(message: bytes) -> None:
            sock.sendall(message)
            echoed = b""
            while len(echoed) < len(message):
                echoed += sock.recv(4096)
            assert echoed == message

        echo(b"\x81\x05hello")
        echo(b"\x81\x05again")
        # Another app appears: a reload, and this tunnel stays on the old worker.
        worker = router._worker_pid()
        router.apply([ws, Route("other", ["other.localhost"], [upstreams[0].address])])
        assert router._worker_pid() != worker
        assert get(port, "other.localhost").status_code == 200
        echo(b"\x81\x05after")
    server.close()
