"""Run the real `pier` command in-process against a fake API (httpx.MockTransport).

A fake server is fine here: these tests check the CLI's parsing, requests and output. The
integration tests in tests/integration/cli run the same commands against the real server.
"""

import json
from collections.abc import Callable

import httpx
import pytest
from click.testing import CliRunner, Result

from cli.context import Env
from cli.main import cli

FAKE_API = object()  # `run(..., transport=FAKE_API)`: the default, answered by `api`
PIER_ENV_VARS = ("XDG_CONFIG_HOME", "PIER_API_URL", "PIER_API_KEY", "PIER_DEBUG", "NO_COLOR")


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """Give each test its own HOME and an empty working directory outside any git repo."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var in PIER_ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return home


class FakeApi:
    """Answers requests from a table of routes and records every request it got."""

    def __init__(self):
        self.routes: dict[tuple[str, str], Callable[[httpx.Request], httpx.Response]] = {}
        self.requests: list[httpx.Request] = []

    def on(self, method: str, path: str, body=None, status: int = 200) -> None:
        def answer(request: httpx.Request) -> httpx.Response:
            if status == 204:
                return httpx.Response(204)
            return httpx.Response(status, json=body)

        self.routes[(method, "/api/" + path)] = answer

    def route(self, method: str, path: str, handler: Callable[[httpx.Request], httpx.Response]):
        """Answer `method path` with handler (for streams and other non-JSON answers)."""
        self.routes[(method, "/api/" + path)] = handler

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        route = self.routes.get((request.method, request.url.path))
        if route is None:
            message = f"no route {request.method} {request.url.path}"
            return httpx.Response(404, json={"id": "not_found", "message": message})
        return route(request)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def sent(self, method: str, path: str):
        """Return the JSON body of the last `method path` request (None when bodiless)."""
        for request in reversed(self.requests):
            if request.method == method and request.url.path == "/api/" + path:
                return json.loads(request.content) if request.content else None
        raise AssertionError(f"no {method} /api/{path} in {self.requests}")

    def paths(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.requests]


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


@pytest.fixture
def run(api) -> Callable[..., Result]:
    """Invoke `pier ARGS` with a token set; return click's Result (stdout, stderr, exit)."""

    def invoke(
        *args: str, tty: bool = False, input: str | None = None, env=None, transport=FAKE_API
    ):
        environ = {"PIER_API_KEY": "pier_test-token", "PIER_API_URL": "http://pier.test"}
        environ.update(env or {})
        obj = Env(transport=api.transport if transport is FAKE_API else transport, tty=tty)
        return CliRunner().invoke(cli, list(args), obj=obj, input=input, env=environ)

    return invoke


APP = {
    "id": 1,
    "name": "demo",
    "owner": {"email": "owner@example.com"},
    "web_url": "http://demo.localhost:8080",
    "git_url": "http://pier.test/demo.git",
    "deploy_branch": "main",
    "maintenance": False,
    "current_release": {"version": 3},
    "sleep": {"enabled": False, "after_seconds": None, "after": None, "sleeping": False,
              "since": None},
    "created_at": "2026-11-28T01:02:03.000000Z",
    "updated_at": "2026-11-28T01:02:03.000000Z",
}


@pytest.fixture
def app_json() -> dict:
    return dict(APP)
