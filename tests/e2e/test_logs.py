"""Log streams end to end: app output, router lines and drains, through `pier logs`."""

import socket
import threading

import pytest

from tests.e2e.helpers import pier, wait_for

pytestmark = pytest.mark.docker


def test_app_and_router_lines_reach_pier_logs(platform, pushed):
    app, _ = pushed()
    assert platform.get(app, "/hello-logs").status_code == 200

    def logs(*args):
        return pier(platform, "logs", "-a", app, "-n", "300", *args).stdout

    # http.server prints each request to stderr: it arrives as app[web.1].
    wait_for(lambda: "/hello-logs" in logs("-s", "app"), what="the app's own line")
    app_line = next(line for line in logs("-s", "app").splitlines() if "/hello-logs" in line)
    assert " app[web.1]: " in app_line
    wait_for(lambda: 'path="/hello-logs"' in logs("-s", "router"), what="router")
    router_line = next(line for line in logs("-s", "router").splitlines() if "hello-logs" in line)
    assert "router[router]: at=info method=GET" in router_line and "status=200" in router_line
    assert " pier[" in logs("-s", "pier")


def test_syslog_drain_delivers_to_a_tcp_listener(platform, pushed):
    app, _ = pushed()
    received, server = [], socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def accept():
        server.settimeout(60)
        conn, _ = server.accept()
        conn.settimeout(60)
        while data := conn.recv(65536):
            received.append(data)
            if b"drain-me" in b"".join(received):
                break
        conn.close()

    listener = threading.Thread(target=accept, daemon=True)
    listener.start()
    added = pier(platform, "drains:add", f"syslog://127.0.0.1:{port}", "-a", app)
    assert added.returncode == 0, added.stderr
    wait_for(
        lambda: (platform.get(app, "/drain-me"), b"drain-me" in b"".join(received))[1],
        timeout=60,
        what="a drained line",
    )
    server.close()
    frame = b"".join(received).decode()
    # RFC 5424: <PRI>1 TIMESTAMP HOST APP ...; HOST is the app's id, which a rename keeps (as
    # Heroku's drain token stays), so a drain's lines stay together.
    app_id = platform.api.get(f"/apps/{app}").json()["id"]
    assert "<" in frame and f" {app_id} " in frame
