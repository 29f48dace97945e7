"""The Caddy router on its own: admin over a unix socket, idempotent re-apply, pages."""

from __future__ import annotations

import httpx
import pytest
from rt_helpers import Upstream

from runtime.errors import RouterUnavailable
from runtime.router.base import Route
from runtime.router.caddy import Router, start_caddy
from tests.helpers import free_port


@pytest.fixture
def upstream():
    server = Upstream()
    yield server.address
    server.stop()


@pytest.fixture
def unix_caddy(tmp_path):
    admin, port = f"unix/{tmp_path}/admin.sock", free_port()
    with open(tmp_path / "caddy.log", "wb") as log:
        process = start_caddy(
            tmp_path / "caddy.json",
            admin=admin,
            listen=f"127.0.0.1:{port}",
            access_log="discard",
            stdout=log,
            stderr=log,
        )
        yield admin, port
        process.terminate()
        process.wait(10)


def test_unix_admin_reapply_and_pages(unix_caddy, upstream, tmp_path):
    admin, port = unix_caddy
    router = Router(
        admin=admin,
        listen=f"127.0.0.1:{port}",
        access_log="discard",
        config_file=tmp_path / "caddy.json",
        refresh=0,
    )
    routes = [
        Route("echo", ["echo.localhost", "www.example.test"], [upstream]),
        Route("idle", ["idle.localhost"], []),
        Route("down", ["down.localhost"], [upstream], maintenance=True),
    ]
    router.apply(routes)
    router.apply(routes)  # the same table again: harmless

    def get(host, **headers):
        return httpx.get(f"http://127.0.0.1:{port}/", headers={"Host": host, **headers})

    seen = get("www.example.test").json()
    assert seen["x-forwarded-for"] == "127.0.0.1" and seen["x-forwarded-host"]
    assert len(seen["x-request-id"]) == 36
    assert get("echo.localhost", **{"X-Request-Id": "kept"}).json()["x-request-id"] == "kept"
    assert get("idle.localhost").status_code == 503
    assert get("down.localhost").status_code == 503 and "maintenance" in get("down.localhost").text
    assert get("nope.localhost").status_code == 404
    # The config file holds the table, for a caddy that restarts.
    assert "echo.localhost" in (tmp_path / "caddy.json").read_text()


def test_unreachable_admin_is_router_unavailable(tmp_path):
    with pytest.raises(RouterUnavailable):
        Router(admin=f"unix/{tmp_path}/none.sock").apply([])
