"""One contract, every router: the in-memory fake, HAProxy and Caddy answer alike.

HAProxy and Caddy run as real processes on a free loopback port, in front of real HTTP
servers (the ``upstreams`` fixture, which answer with their own port); the memory
router says which upstream it would use and that upstream is asked.
"""

from __future__ import annotations

import httpx
import pytest
from conftest import free_port

from runtime.router import available_routers
from runtime.router.base import Route
from runtime.router.caddy import Router as CaddyRouter
from runtime.router.haproxy import Router as HaproxyRouter
from runtime.router.memory import Router as MemoryRouter

KINDS = {"runtime.router.memory.Router": "memory", "runtime.router.haproxy.Router": "haproxy",
         "runtime.router.caddy.Router": "caddy"}


def test_every_shipped_router_is_under_contract():
    assert sorted(available_routers()) == sorted(KINDS)


class Served:
    """A router and how a client reaches it: ``get(host)`` -> (status, text, port or None)."""

    def __init__(self, router, port: int | None = None) -> None:
        self.router, self.port = router, port
        # A connection per request: Caddy's config reload closes idle keep-alive connections
        # (HAProxy's tests prove it keeps them); this contract is about what each one answers.
        self.client = httpx.Client(limits=httpx.Limits(max_keepalive_connections=0))

    def apply(self, routes: list[Route]) -> None:
        self.router.apply(routes)

    def get(self, host: str) -> tuple[int, str, int | None]:
        if self.port is None:  # the memory router: it names the upstream, which answers
            status, where = self.router.answer(host)
            if status != 200:
                return status, where, None
            response = self.client.get(f"http://{where}/", headers={"Host": host})
        else:
            response = self.client.get(f"http://127.0.0.1:{self.port}/", headers={"Host": host})
        port = response.json()["port"] if response.status_code == 200 else None
        return response.status_code, response.text, port

    def ports(self, host: str, times: int) -> set[int | None]:
        return {self.get(host)[2] for _ in range(times)}


@pytest.fixture(params=sorted(KINDS.values()))
def served(request, tmp_path):
    if request.param == "memory":
        served = Served(MemoryRouter())
        with served.client:
            yield served
        return
    port = free_port()
    if request.param == "haproxy":
        options = dict(state_dir=tmp_path / "state", listen=f"127.0.0.1:{port}",
                       access_log=str(tmp_path / "access.log"))
        router_class = HaproxyRouter
    else:
        options = dict(state_dir=tmp_path / "state", listen=f"127.0.0.1:{port}",
                       access_log="discard", refresh=0)
        router_class = CaddyRouter
    with open(tmp_path / "router.log", "wb") as log:
        process = router_class(**options).start(stdout=log, stderr=log)
        served = Served(router_class(**options), port)
        try:
            with served.client:
                yield served
        finally:
            process.terminate()
            process.wait(10)


def test_every_host_of_an_app_reaches_it_and_other_hosts_are_404(served, upstreams):
    a = upstreams[0]
    routes = [Route("id-echo", ["echo.localhost", "WWW.example.test"], [a.address],
                    name="echo")]
    served.apply(routes)
    served.apply(routes)  # the same table again: harmless
    assert served.get("echo.localhost")[::2] == (200, a.port)
    assert served.get("www.example.test")[::2] == (200, a.port)
    assert served.get("www.example.test:8080")[::2] == (200, a.port)
    status, text, _ = served.get("nope.localhost")
    assert status == 404 and "No such app" in text


def test_an_app_without_web_processes_is_503_with_a_page_naming_it(served):
    served.apply([Route("id-idle", ["idle.localhost"], [], name="idle")])
    status, text, _ = served.get("idle.localhost")
    assert status == 503 and "pier ps:scale web=1" in text and "idle" in text


def test_maintenance_is_503_whatever_the_upstreams(served, upstreams):
    served.apply([Route("down", ["down.localhost"], [upstreams[0].address], maintenance=True)])
    status, text, _ = served.get("down.localhost")
    assert status == 503 and "maintenance" in text
    served.apply([Route("down", ["down.localhost"], [upstreams[0].address])])
    assert served.get("down.localhost")[::2] == (200, upstreams[0].port)


def test_upstreams_switch_with_each_table(served, upstreams):
    a, b, c = upstreams
    served.apply([Route("app", ["app.localhost"], [a.address])])
    assert served.ports("app.localhost", 4) == {a.port}
    served.apply([Route("app", ["app.localhost"], [b.address])])
    assert served.ports("app.localhost", 4) == {b.port}
    served.apply([Route("app", ["app.localhost"], [a.address, b.address, c.address])])
    # Balanced across all three (Caddy picks at random: 30 tries miss one ~1 in 60 000).
    assert served.ports("app.localhost", 30) == {a.port, b.port, c.port}
    served.apply([Route("app", ["app.localhost"], [])])
    assert served.get("app.localhost")[0] == 503


def test_apps_leave_and_hosts_move_with_the_table(served, upstreams):
    a, b, _ = upstreams
    served.apply([Route("one", ["one.localhost"], [a.address]),
                  Route("two", ["two.localhost"], [b.address])])
    assert served.get("two.localhost")[::2] == (200, b.port)
    # "one" renamed to "uno" (same id), "two" destroyed.
    served.apply([Route("one", ["uno.localhost"], [a.address], name="uno")])
    assert served.get("uno.localhost")[::2] == (200, a.port)
    assert served.get("one.localhost")[0] == 404
    assert served.get("two.localhost")[0] == 404
