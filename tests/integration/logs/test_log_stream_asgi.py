"""Log tails through the real ASGI server: beside Django's handler, no thread per tail."""

import re
import socket
import threading
import time
from urllib.parse import urlsplit

import httpx
import pytest

from api.services.apps import app_create
from runtime import applog

pytestmark = pytest.mark.django_db(transaction=True)


def open_tail(base: str, token: str, host: str = "localhost",
              receive_buffer: int | None = None) -> socket.socket:
    url = urlsplit(base)
    sock = socket.socket()
    if receive_buffer:  # set before connecting, or the kernel's autotuning wins
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.connect((url.hostname, url.port))
    sock.sendall(
        f"GET /api/apps/shared/log-stream?tail=1&lines=0 HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {token}\r\n\r\n".encode()
    )
    return sock


def test_idle_tails_hold_no_thread_and_all_get_new_lines(asgi_server, user, redis_client):
    shared = str(app_create(user=user, name="shared").id)
    redis_client.delete(applog.stream_key(shared))
    threads_before = threading.active_count()
    tails = [open_tail(asgi_server, user.plaintext_token) for _ in range(40)]
    try:
        for sock in tails:
            sock.settimeout(10)
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        time.sleep(0.5)
        # Through Django's handler each open tail kept a thread of its own.
        assert threading.active_count() - threads_before < 5
        applog.append(redis_client, shared, source="app", dyno="web.1", message="to all")
        for sock in tails:
            data = b""
            while b"to all" not in data:
                data += sock.recv(4096)
    finally:
        for sock in tails:
            sock.close()
        redis_client.delete(applog.stream_key(shared))


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


def test_a_client_that_does_not_read_costs_bounded_memory_and_is_told_it_skipped(
    asgi_server, user, redis_client
):
    from logs import views
    from logs.feed import QUEUE_LINES

    key = applog.stream_key(str(app_create(user=user, name="shared").id))
    redis_client.delete(key)
    slow = open_tail(asgi_server, user.plaintext_token, receive_buffer=4096)
    slow.settimeout(10)
    assert slow.recv(4096).startswith(b"HTTP/1.1 200")
    time.sleep(0.3)
    line = "x" * 400
    for batch in range(40):  # 40,000 lines of 400 bytes into a stream capped at 10,000
        pipe = redis_client.pipeline()
        for i in range(1000):
            pipe.xadd(key, {"ts": "t", "source": "app", "dyno": "web.1",
                            "line": f"{batch * 1000 + i} {line}"},
                      maxlen=10_000, approximate=False)
        pipe.execute()
        time.sleep(0.02)
    # The server holds at most a bounded queue of batches for the client that reads nothing.
    subscriptions = [s for _, feeds in list(views._clients.values())
                     for feed in feeds.feeds.values() for s in feed.subscriptions]
    assert subscriptions
    assert all(s.lagged or s.queued_lines <= QUEUE_LINES for s in subscriptions)
    received = b""
    try:
        while b"39999 " not in received:
            received += slow.recv(1 << 16)
    finally:
        slow.close()
        redis_client.delete(key)
    assert b"pier[logs]: Some lines were skipped" in received
    numbers = [int(m) for m in re.findall(rb"app\[web.1\]: (\d+) ", received)]
    assert numbers == sorted(set(numbers)) and len(numbers) < 40_000  # skipped, never repeated
