"""Drains delivering to real listeners on 127.0.0.1: syslog over TCP and TLS, HTTP POSTs.

127.0.0.1 is not public: these drains pass because the operator's allow list
(PIER_OUTBOUND_ALLOW) lets 127.0.0.0/8 through, as the policy's tests check it must.
"""

from __future__ import annotations

import http.server
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
import uuid

import pytest

from runtime import applog
from runtime.drains import POSITIONS_KEY, DrainManager
from runtime.outbound import Policy
from tests.helpers import SyslogListener, parse_frames, wait_for

LOCAL = Policy.from_env({"PIER_OUTBOUND_ALLOW": "127.0.0.0/8"})


@pytest.fixture
def app(redis_client):
    name = f"dl{uuid.uuid4().hex[:8]}"
    yield name
    redis_client.delete(applog.stream_key(name))
    for field in redis_client.hkeys(POSITIONS_KEY):
        if field.startswith(f"{name}:"):
            redis_client.hdel(POSITIONS_KEY, field)


@pytest.fixture
def manager(redis_client):
    managers = []

    def make(drains, **options):
        manager = DrainManager(redis_client, lambda: drains, refresh=0.2, block=0.2,
                               policy=LOCAL, **options)
        manager.sync()
        manager.start()
        managers.append(manager)
        return manager

    yield make
    for manager in managers:
        manager.stop()


def write(client, app, messages):
    for message in messages:
        applog.append(client, app, source="app", dyno="web.1", message=message)


def wait_until_started(manager):
    """New drains start at the end of the stream: wait until each has its position."""
    wait_for(lambda: all(d.read_position for d in manager.drains.values()), what="drains")


def test_syslog_drain_delivers_rfc5424_frames_in_order(redis_client, app, manager):
    listener = SyslogListener()
    try:
        drains = manager({app: [f"syslog://127.0.0.1:{listener.port}"]})
        wait_until_started(drains)
        write(redis_client, app, [f"hello {i} wörld" for i in range(200)])
        messages = wait_for(
            lambda: len(m := listener.messages()) >= 200 and m, what="200 syslog messages"
        )
        assert len(messages) == 200
        assert re.fullmatch(
            rb"<190>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00 "
            + app.encode()
            + rb" app web\.1 - - hello 0 w\xc3\xb6rld",
            messages[0],
        )
        assert [m.rsplit(b" - - ", 1)[1] for m in messages] == [
            f"hello {i} wörld".encode() for i in range(200)
        ]
    finally:
        listener.close()


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    if not shutil.which("openssl"):
        pytest.skip("needs openssl to make a certificate")
    tmp = tmp_path_factory.mktemp("tls")
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_syslog_tls_drain_verifies_and_delivers(redis_client, app, manager, tls_files):
    cert, key = tls_files
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    listener = SyslogListener(server)
    try:
        client = ssl.create_default_context(cafile=str(cert))
        drains = manager({app: [f"syslog+tls://127.0.0.1:{listener.port}"]}, ssl_context=client)
        wait_until_started(drains)
        write(redis_client, app, ["secret 1", "secret 2"])
        messages = wait_for(lambda: len(m := listener.messages()) >= 2 and m, what="TLS")
        assert [m.rsplit(b" - - ", 1)[1] for m in messages] == [b"secret 1", b"secret 2"]
    finally:
        listener.close()


class Collector(http.server.BaseHTTPRequestHandler):
    posts: list = []

    def do_POST(self):  # the http.server API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).posts.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_http_drain_posts_logplex_batches(redis_client, app, manager):
    Collector.posts = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://user:pw@127.0.0.1:{server.server_address[1]}/logs"
        drains = manager({app: [url]}, batch=100)
        wait_until_started(drains)
        write(redis_client, app, [f"line {i}" for i in range(250)])
        wait_for(
            lambda: sum(int(h["Logplex-Msg-Count"]) for h, _ in Collector.posts) >= 250,
            what="250 lines posted",
        )
        assert len(Collector.posts) >= 3  # batches of at most 100
        received = []
        for headers, body in Collector.posts:
            assert headers["Content-Type"] == "application/logplex-1"
            assert headers["Authorization"].startswith("Basic ")
            assert headers["Logplex-Drain-Token"].startswith("d.")
            frames = parse_frames(body)
            assert len(frames) == int(headers["Logplex-Msg-Count"]) <= 100
            assert all(frame.endswith(b"\n") for frame in frames)
            received += [frame.rsplit(b" - - ", 1)[1].rstrip(b"\n") for frame in frames]
        assert received == [f"line {i}".encode() for i in range(250)]
    finally:
        server.shutdown()
        server.server_close()


def test_a_dead_drain_does_not_hold_up_a_live_one(redis_client, app, manager):
    closed = socket.create_server(("127.0.0.1", 0))
    dead_port = closed.getsockname()[1]
    closed.close()
    listener = SyslogListener()
    try:
        drains = manager(
            {app: [f"syslog://127.0.0.1:{dead_port}", f"syslog://127.0.0.1:{listener.port}"]},
            limit=50,
        )
        wait_until_started(drains)
        start = time.monotonic()
        write(redis_client, app, [f"m{i}" for i in range(100)])
        wait_for(lambda: len(listener.messages()) >= 100, timeout=10, what="the live drain")
        assert time.monotonic() - start < 5
        dead = drains.drains[(app, f"syslog://127.0.0.1:{dead_port}")]
        wait_for(lambda: dead.dropped_total >= 50, what="the dead drain dropping")
        assert len(dead.buffer) <= 50 and dead.delivered_total == 0
    finally:
        listener.close()
