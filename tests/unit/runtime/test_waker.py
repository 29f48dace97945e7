"""The waker on real sockets: a held request, body and all, reaches the process once routed."""

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from runtime.desired import DesiredApp, HealthCheck, ProcessSpec
from runtime.router.base import Route
from runtime.sleep import Sleeper
from runtime.waker import Waker


class Echo(BaseHTTPRequestHandler):
    """Answers with the request body (Content-Length or chunked), as an app would."""

    protocol_version = "HTTP/1.1"

    def do_POST(self):  # http.server's naming
        if self.headers.get("Transfer-Encoding") == "chunked":
            body = b""
            while size := int(self.rfile.readline(), 16):
                body += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
        else:
            body = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def echo():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def napper(boot_timeout=10.0):
    return DesiredApp(name="napper", id="napper", release=1, image="img", sleep_after=60,
                      formation=(ProcessSpec("web", 1),),
                      healthcheck=HealthCheck(boot_timeout=boot_timeout))


def serve(boot_timeout=10.0):
    """Return a sleeper with napper routed to the waker, and the waker's address."""
    sleeper = Sleeper()
    sleeper.prepare([napper(boot_timeout)])
    waker = Waker(sleeper)
    address = waker.start()
    route = Route(app="napper", hosts=("napper.localhost",))
    assert sleeper.routed([route], address)[0].upstreams == (address,)
    return sleeper, waker, address, route


def post(address, body, **kw):
    host, port = address.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=20)
    conn.request("POST", "/", body=body, headers={"Host": "napper.localhost:8080"}, **kw)
    response = conn.getresponse()
    return response.status, response.read()


@pytest.mark.parametrize("chunked", [False, True])
def test_a_held_request_reaches_the_process_once_it_is_routed(echo, chunked):
    sleeper, waker, address, route = serve()
    body = b"x" * 200_000 + b"end"
    later = threading.Timer(0.5, lambda: sleeper.routed(
        [Route(app=route.app, hosts=route.hosts, upstreams=(echo,))], address))
    later.start()
    try:
        sent = iter([body[:100_000], body[100_000:]]) if chunked else body
        status, answer = post(address, sent, encode_chunked=chunked)
    finally:
        waker.stop()
    assert (status, answer) == (200, body)


def test_no_process_within_the_boot_timeout_gets_a_503_page():
    sleeper, waker, address, _ = serve(boot_timeout=0.5)
    try:
        status, answer = post(address, b"hello")
    finally:
        waker.stop()
    assert status == 503
    assert b"napper was asleep and its web process did not start within 0.5s" in answer
    assert not sleeper.sleeping("napper")  # woken: the runtime keeps trying to start it
