"""`pier logs` and `pier run`: streamed answers, a tail reconnecting, exit statuses, Ctrl-C."""

import json
import shlex

import click
import httpx
import pytest

from cli.commands import logs as logs_module
from cli.exitcodes import ExitCode

LOGS = "apps/demo/log-stream"
T = "2026-11-28T01:02:03.123456+00:00"


def line(n: int, who: str = "app[web.1]") -> str:
    return f"{T} {who}: message {n}"


def event(n: int) -> bytes:
    return f"id: {n}-0\ndata: {line(n)}\n\n".encode()


def streamed(chunks, content_type: str, status: int = 200) -> httpx.Response:
    """A response whose body arrives chunk by chunk; an exception in chunks is raised there."""

    def body():
        for chunk in chunks:
            if isinstance(chunk, BaseException):
                raise chunk
            yield chunk if isinstance(chunk, bytes) else chunk.encode()

    return httpx.Response(status, headers={"Content-Type": content_type}, content=body())


def dropped(request) -> httpx.RemoteProtocolError:
    return httpx.RemoteProtocolError("peer closed connection", request=request)


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """Record the tail's backoff delays instead of waiting them out."""
    delays: list[float] = []
    monkeypatch.setattr(logs_module, "_sleep", delays.append)
    return delays


# --- pier logs ------------------------------------------------------------------------


def test_logs_prints_the_plain_stream_with_the_filters_asked(run, api):
    seen = []

    def answer(request):
        seen.append(request)
        return streamed([line(1) + "\n" + line(2)[:20], line(2)[20:] + "\n"], "text/plain")

    api.route("GET", LOGS, answer)
    result = run("logs", "-a", "demo", "-n", "5", "-s", "app", "-d", "web.2")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{line(1)}\n{line(2)}\n"
    (request,) = seen
    assert dict(request.url.params) == {"lines": "5", "source": "app", "dyno": "web.2"}
    assert request.headers["Accept"] == "text/plain"
    assert request.headers["Authorization"] == "Bearer pier_test-token"


def test_logs_defaults_to_100_lines_and_rejects_unknown_sources(run, api):
    api.route("GET", LOGS, lambda request: streamed([], "text/plain"))
    assert run("logs", "-a", "demo").exit_code == 0
    assert dict(api.requests[-1].url.params) == {"lines": "100"}
    result = run("logs", "-a", "demo", "-s", "kernel")
    assert result.exit_code == ExitCode.USAGE
    assert api.paths() == [f"GET /api/{LOGS}"]


def test_logs_colours_source_and_dyno_only_on_a_terminal(run, api):
    api.route("GET", LOGS, lambda request: streamed([line(1) + "\n"], "text/plain"))
    plain = run("logs", "-a", "demo")
    assert "\x1b[" not in plain.stdout
    coloured = run("logs", "-a", "demo", tty=True)
    assert "\x1b[" in coloured.stdout
    assert "app[web.1]\x1b[0m: message 1\n" in coloured.stdout
    assert click.unstyle(coloured.stdout) == plain.stdout


@pytest.mark.parametrize(
    ("status", "error_id", "message", "code"),
    [
        (404, "not_found", "app 'demo' not found (or you have no access to it)", 1),
        (422, "invalid_params", "lines must be between 0 and 10000", 1),
        (401, "unauthorized", "missing or invalid API token: run `pier login`", 3),
    ],
)
@pytest.mark.parametrize("tail", [False, True])
def test_logs_errors_are_reported_as_elsewhere(run, api, status, error_id, message, code, tail):
    api.on("GET", LOGS, {"id": error_id, "message": message}, status)
    result = run("logs", "-a", "demo", *(["--tail"] if tail else []))
    assert result.exit_code == code
    assert message in result.stderr
    assert result.stdout == ""
    assert len(api.requests) == 1  # a tail retries only once it has been connected


def test_tail_reconnects_after_drops_without_gaps_or_repeats(run, api, sleeps):
    requests = []

    def answer(request):
        requests.append(request)
        attempt = len(requests)
        if attempt == 1:  # history, a keep-alive, then a drop in the middle of event 3
            return streamed(
                [event(1), event(2), ": keep-alive\n\n", b"id: 3-0\ndata: hal", dropped(request)],
                "text/event-stream",
            )
        if attempt == 2:  # resumes after 2-0; then the server closes the stream
            return streamed([event(3), event(4)], "text/event-stream")
        if attempt == 3:  # a proxy in front of a restarting Pier
            return httpx.Response(503, text="<html>Service Unavailable</html>")
        if attempt == 4:
            raise httpx.ConnectError("connection refused", request=request)
        return streamed([event(5), KeyboardInterrupt()], "text/event-stream")

    api.route("GET", LOGS, answer)
    result = run("logs", "--tail", "-a", "demo", "-n", "2")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [line(n) for n in range(1, 6)]
    assert [r.headers.get("Last-Event-ID") for r in requests] == [None, "2-0", "4-0", "4-0", "4-0"]
    assert all(r.headers["Accept"] == "text/event-stream" for r in requests)
    assert all(dict(r.url.params) == {"lines": "2", "tail": "true"} for r in requests)
    # Backoff restarts whenever the server spoke; it doubles while it does not.
    assert sleeps == [0.5, 0.5, 1.0, 2.0]
    assert "reconnecting" in result.stderr and "Aborted" not in result.stderr


def test_tail_backoff_is_capped_and_a_4xx_stops_it(run, api, sleeps):
    attempts = []

    def answer(request):
        attempts.append(request)
        if len(attempts) == 1:
            return streamed([], "text/event-stream")  # connected, then closed at once
        if len(attempts) < 9:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(404, json={"id": "not_found", "message": "app 'demo' not found"})

    api.route("GET", LOGS, answer)
    result = run("logs", "-t", "-a", "demo")
    assert sleeps == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0, 5.0]
    assert result.exit_code == 1
    assert "app 'demo' not found" in result.stderr


def test_tail_that_cannot_connect_at_first_fails_at_once(run, sleeps):
    def refuse(request):
        raise httpx.ConnectError("connection refused", request=request)

    result = run("logs", "-t", "-a", "demo", transport=httpx.MockTransport(refuse))
    assert result.exit_code == ExitCode.CANNOT_CONNECT
    assert sleeps == []


def test_ctrl_c_ends_logs_quietly_with_status_0(run, api, monkeypatch):
    api.route("GET", LOGS, lambda r: streamed([line(1) + "\n", KeyboardInterrupt()], "text/plain"))
    result = run("logs", "-a", "demo")
    assert (result.exit_code, result.stdout, result.stderr) == (0, line(1) + "\n", "")

    def interrupted_while_waiting(delay):
        raise KeyboardInterrupt

    api.route("GET", LOGS, lambda r: streamed([event(1), dropped(r)], "text/event-stream"))
    monkeypatch.setattr(logs_module, "_sleep", interrupted_while_waiting)
    result = run("logs", "-t", "-a", "demo")
    assert result.exit_code == 0
    assert result.stdout == line(1) + "\n"


def test_plain_logs_that_drop_midway_exit_4(run, api):
    api.route("GET", LOGS, lambda r: streamed([line(1) + "\n", dropped(r)], "text/plain"))
    result = run("logs", "-a", "demo")
    assert result.exit_code == ExitCode.CANNOT_CONNECT
    assert result.stdout == line(1) + "\n"


# --- pier run -------------------------------------------------------------------------

DYNOS = "apps/demo/dynos/run"


def ndjson(*messages) -> list[bytes]:
    return [(json.dumps(m) + "\n").encode() for m in messages]


def test_run_streams_output_raw_and_exits_with_the_remote_status(run, api):
    colour = "\x1b[31mred\x1b[0m"
    chunks = ndjson({"output": "partial line, "}, {"output": f"{colour} ünï\n"}, {"exit_code": 3})
    # One JSON line split across two chunks must still parse.
    chunks = [chunks[0][:5], chunks[0][5:], *chunks[1:]]
    api.route("POST", DYNOS, lambda request: streamed(chunks, "application/x-ndjson"))
    argv = ["python", "-c", "print('hi there')", "--flag"]
    result = run("run", "-a", "demo", "--", *argv)
    assert result.exit_code == 3
    assert result.stdout == f"partial line, {colour} ünï\n"
    assert api.sent("POST", DYNOS) == {
        "command": shlex.join(argv),
        "attach": True,
        "size": "standard",
    }
    assert result.stderr == f"Running {shlex.join(argv)} on demo... up\n"


def test_run_without_dashes_keeps_the_commands_own_options(run, api):
    api.route("POST", DYNOS, lambda r: streamed(ndjson({"exit_code": 0}), "application/x-ndjson"))
    result = run("run", "-a", "demo", "--size", "large", "ls", "-la", "/app")
    assert result.exit_code == 0, result.output
    assert api.sent("POST", DYNOS) == {"command": "ls -la /app", "attach": True, "size": "large"}


def test_run_reports_a_remote_error(run, api):
    messages = ndjson({"output": "starting\n"}, {"error": "the process could not start: OOM"})
    api.route("POST", DYNOS, lambda request: streamed(messages, "application/x-ndjson"))
    result = run("run", "-a", "demo", "--", "bash")
    assert result.exit_code == 1
    assert result.stdout == "starting\n"
    assert "error: the process could not start: OOM" in result.stderr


def test_run_whose_stream_ends_without_a_status_fails(run, api):
    api.route("POST", DYNOS, lambda r: streamed(ndjson({"output": "x"}), "application/x-ndjson"))
    result = run("run", "-a", "demo", "--", "bash")
    assert result.exit_code == 1
    assert "exit status is unknown" in result.stderr

    api.route("POST", DYNOS, lambda r: streamed([*ndjson({"output": "x"}), dropped(r)], "x"))
    result = run("run", "-a", "demo", "--", "bash")
    assert result.exit_code == ExitCode.CANNOT_CONNECT


def test_run_refused_by_the_server(run, api):
    message = "demo has no release yet: deploy first"
    api.on("POST", DYNOS, {"id": "invalid", "message": message}, 422)
    result = run("run", "-a", "demo", "--", "bash")
    assert result.exit_code == 1
    assert result.stderr == f"Running bash on demo... failed\nerror: {message}\n"


def test_run_detached_names_the_process(run, api):
    api.on("POST", DYNOS, {"name": "run.1234", "message": "Started run.1234"}, 202)
    result = run("run", "--detach", "-a", "demo", "--", "python", "job.py")
    assert result.exit_code == 0, result.output
    assert api.sent("POST", DYNOS) == {
        "command": "python job.py",
        "attach": False,
        "size": "standard",
    }
    assert result.stderr.splitlines() == [
        "Running python job.py on demo... up, run.1234",
        "Run `pier logs -a demo -d run.1234` to see the output",
    ]


def test_run_interrupted_exits_130(run, api):
    chunks = [*ndjson({"output": "working\n"}), KeyboardInterrupt()]
    api.route("POST", DYNOS, lambda request: streamed(chunks, "application/x-ndjson"))
    result = run("run", "-a", "demo", "--", "sleep", "100")
    assert result.exit_code == 130
    assert result.stdout == "working\n"
    assert "Aborted" not in result.stderr


def test_run_needs_a_command(run, api):
    result = run("run", "-a", "demo")
    assert result.exit_code == ExitCode.USAGE
    assert api.requests == []
