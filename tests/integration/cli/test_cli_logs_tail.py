"""`pier logs --tail` against the real log-stream view served by uvicorn (ASGI).

live_server is WSGI, under which Django buffers an async stream to its end: a tail would
never get a byte. So this test serves Django's ASGI application with uvicorn in a thread
(same process, so it shares the test database and settings). A dropped connection is
simulated in the client's transport (the first stream breaks after a few events); the
reconnect then goes to the real server with Last-Event-ID, which must resume with no gap
and no repeat, including the lines written while the client was away.
"""

import threading

import httpx
import pytest
from click.testing import CliRunner

from api.models import App
from cli.commands import logs as logs_module
from cli.context import Env
from cli.main import cli
from runtime import applog

APP = "tailed-app"
STREAM = {}  # the app's log stream is keyed by its id, known once it is created


@pytest.fixture
def asgi_url(pier_server, asgi_server):
    return asgi_server


def write(redis_client, message: str, dyno: str = "web.1") -> None:
    applog.append(redis_client, STREAM["id"], source="app", dyno=dyno, message=message)


class DropFirstStream(httpx.BaseTransport):
    """A real transport whose first stream breaks after `after` events (calling on_drop)."""

    def __init__(self, after: int, on_event, on_drop):
        self.inner = httpx.HTTPTransport()
        self.after, self.on_event, self.on_drop = after, on_event, on_drop
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        response = self.inner.handle_request(request)
        if len(self.requests) > 1:
            return response
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_Dropping(response.stream, request, self),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self.inner.close()


class _Dropping(httpx.SyncByteStream):
    def __init__(self, inner, request, owner: DropFirstStream):
        self.inner, self.request, self.owner = inner, request, owner

    def __iter__(self):
        events = 0
        for chunk in self.inner:
            yield chunk
            for _ in range(chunk.count(b"\n\n")):
                events += 1
                self.owner.on_event(events)
            if events >= self.owner.after:
                self.owner.on_drop()
                raise httpx.RemoteProtocolError("simulated drop", request=self.request)

    def close(self) -> None:
        self.inner.close()


def test_tail_resumes_after_a_drop_without_gap_or_repeat(
    pier, owner, asgi_url, redis_client, monkeypatch
):
    assert pier("apps:create", APP).exit_code == 0
    STREAM["id"] = str(App.objects.get(name=APP).id)
    key = applog.stream_key(STREAM["id"])
    redis_client.delete(key)
    for i in range(5):
        write(redis_client, f"old {i}")

    def on_event(count: int) -> None:
        if count == 2:  # both history lines are in: write one the tail must pick up
            write(redis_client, "live 1")
            write(redis_client, "not for web", dyno="worker.1")

    def on_drop() -> None:  # written while the client is disconnected
        write(redis_client, "gap 1")
        write(redis_client, "gap 2")

    transport = DropFirstStream(after=3, on_event=on_event, on_drop=on_drop)
    printed = []
    real_print = logs_module._print

    def print_then_stop(env, line):
        real_print(env, line)
        printed.append(line)
        if line.endswith("gap 2"):
            raise KeyboardInterrupt  # as Ctrl-C would

    monkeypatch.setattr(logs_module, "_print", print_then_stop)
    monkeypatch.setattr(logs_module, "_sleep", lambda delay: None)
    environ = {"PIER_API_URL": asgi_url, "PIER_API_KEY": owner.plaintext_token}
    done = {}

    def tail():
        done["result"] = CliRunner().invoke(
            cli,
            ["logs", "--tail", "-n", "2", "-d", "web", "-a", APP],
            obj=Env(tty=False, transport=transport),
            env=environ,
        )

    thread = threading.Thread(target=tail, daemon=True)
    thread.start()
    thread.join(30)
    entries = [applog.LogLine.from_entry(*entry) for entry in redis_client.xrange(key)]
    ids = {line.message: line.id for line in entries}
    redis_client.delete(key)
    assert not thread.is_alive(), f"the tail did not finish; printed so far: {printed}"

    result = done["result"]
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    messages = [line.split("]: ", 1)[1] for line in result.stdout.splitlines()]
    assert messages == ["old 3", "old 4", "live 1", "gap 1", "gap 2"]
    assert len(transport.requests) == 2
    first, second = transport.requests
    assert "Last-Event-ID" not in first.headers
    assert second.headers["Last-Event-ID"] == ids["live 1"]
    assert "reconnecting" in result.stderr
