"""Helpers of the runtime integration tests (a unique module name: tests are not packages)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from runtime.desired import DesiredApp, HealthCheck, ProcessSpec

IMAGE = "pier/test-busybox:1"
# Serves "release <n>" on $PORT; RELEASE comes from the app's config.
SERVE = (
    'mkdir -p /tmp/www && echo "release $RELEASE" > /tmp/www/index.html && '
    "exec httpd -f -p $PORT -h /tmp/www"
)


def make_app(name, release=1, web=1, command=SERVE, boot_timeout=20.0, image=IMAGE, **kw):
    return DesiredApp(
        name=name,
        release=release,
        image=image,
        env={"RELEASE": str(release)},
        formation=(ProcessSpec("web", web, command, memory_mb=64, max_processes=64),),
        healthcheck=HealthCheck(boot_timeout=boot_timeout),
        stop_grace=2.0,
        **kw,
    )


def converge(reconciler, desired, timeout=60.0):
    """Reconcile until nothing is pending; return every result along the way."""
    results = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        results.append(reconciler.reconcile(desired))
        if not results[-1].pending:
            return results
        time.sleep(0.2)
    raise AssertionError(f"did not converge in {timeout}s: {results[-1]}")


class Echo(BaseHTTPRequestHandler):
    """Answers every GET with its own port and the request's headers, as JSON; a path
    starting with /slow answers after a second."""

    protocol_version = "HTTP/1.1"  # keep-alive, as a real app server

    def do_GET(self):  # noqa: N802 - http.server's naming
        if self.path.startswith("/slow"):
            time.sleep(1.0)
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = json.dumps({"port": self.server.server_address[1], **headers}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Upstream:
    """An Echo server on every loopback address (127.0.0.N:port all reach it)."""

    def __init__(self):
        self.server = ThreadingHTTPServer(("0.0.0.0", 0), Echo)
        self.port = self.server.server_address[1]
        self.address = f"127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
