"""Log tails through the real ASGI server: beside Django's handler, no thread per tail."""

import socket
import threading
import time
from urllib.parse import urlsplit

import httpx
import pytest

from api.services.apps import app_create
from runtime import applog

pytestmark = pytest.mark.django_db(transaction=True)


def open_tail(base: str, token: str, host: str = "localhost") -> socket.socket:
    url = urlsplit(base)
    sock = socket.create_connection((url.hostname, url.port))
    sock.sendall(
        f"GET /api/apps/shared/log-stream?tail=1&lines=0 HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {token}\r\n\r\n".encode()
    )
    return sock


def test_idle_tails_hold_no_thread_and_all_get_new_lines(asgi_server, user, redis_client):
    app_create(user=user, name="shared")
    redis_client.delete(applog.stream_key("shared"))
    threads_before = threading.active_count()
    tails = [open_tail(asgi_server, user.plaintext_token) for _ in range(40)]
    try:
        for sock in tails:
            sock.settimeout(10)
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        time.sleep(0.5)
        # Through Django's handler each open tail kept a thread of its own.
        assert threading.active_count() - threads_before < 5
        applog.append(redis_client, "shared", source="app", dyno="web.1", message="to all")
        for sock in tails:
            data = b""
            while b"to all" not in data:
                data += sock.recv(4096)
    finally:
        for sock in tails:
            sock.close()
        redis_client.delete(applog.stream_key("shared"))


def test_errors_and_hosts_outside_djangos_handler(asgi_server, user):
    app_create(user=user, name="shared")
    url = f"{asgi_server}/api/apps/shared/log-stream"
    assert httpx.get(url).status_code == 401
    bad = httpx.get(url, headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json()["id"] == "unauthorized"
    auth = {"Authorization": f"Bearer {user.plaintext_token}"}
    assert httpx.get(url, params={"lines": "x"}, headers=auth).status_code == 422
    assert httpx.get(f"{asgi_server}/api/apps/nope/log-stream", headers=auth).status_code == 404
    evil = httpx.get(url, headers={**auth, "Host": "evil.example"})
    assert evil.status_code == 400
    assert httpx.get(url, headers=auth).status_code == 200
