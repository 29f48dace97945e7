"""Helpers of the runtime integration tests (a unique module name: tests are not packages)."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from runtime.desired import DesiredApp, HealthCheck, ProcessSpec
from tests.helpers import busybox_tar

IMAGE = "pier/test-busybox:1"
# Serves "release <n>" on $PORT; RELEASE comes from the app's config.
SERVE = (
    'mkdir -p /tmp/www && echo "release $RELEASE" > /tmp/www/index.html && '
    "exec httpd -f -p $PORT -h /tmp/www"
)

# httpd with two CGI scripts: /cgi-bin/fail answers 500, /cgi-bin/slow takes 0.3 s.
CGI_APP = (
    "busybox mkdir -p /tmp/www/cgi-bin && echo ok > /tmp/www/index.html && "
    "printf '#!/bin/sh\\necho \"Status: 500 Boom\"\\necho\\necho boom\\n' "
    "> /tmp/www/cgi-bin/fail && "
    "printf '#!/bin/sh\\nsleep 0.3\\necho \"Content-Type: text/plain\"\\necho\\necho slow\\n' "
    "> /tmp/www/cgi-bin/slow && "
    "busybox chmod +x /tmp/www/cgi-bin/fail /tmp/www/cgi-bin/slow && "
    "exec httpd -f -p $PORT -h /tmp/www"
)


def busybox_image(client, *, missing=None) -> str:
    """Import a one-binary busybox image as IMAGE once (idempotent across sessions).

    Without a static busybox on the host, call ``missing`` with why: pytest.skip by default,
    sys.exit for bench/scale.py, which makes its processes from this image too.
    """
    import docker.errors

    try:
        client.images.get(IMAGE)
        return IMAGE
    except docker.errors.ImageNotFound:
        pass
    busybox = shutil.which("busybox") or "/bin/busybox"
    if not os.path.exists(busybox):
        if missing is None:
            import pytest

            missing = pytest.skip
        missing("needs a static busybox on the host: apt-get install busybox-static")
    repository, tag = IMAGE.split(":")
    client.api.import_image_from_data(
        busybox_tar(busybox), repository=repository, tag=tag, changes=['CMD ["/bin/sh"]'],
    )
    return IMAGE


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

    def do_GET(self):  # http.server's naming
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
