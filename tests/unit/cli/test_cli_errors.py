import socket

import httpx

from cli.exitcodes import ExitCode


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_connection_refused_gives_a_hint_and_exit_4(run):
    url = f"http://127.0.0.1:{_closed_port()}"
    result = run("apps", env={"PIER_API_URL": url}, transport=None)
    assert result.exit_code == ExitCode.CANNOT_CONNECT == 4
    assert result.stderr == (
        f"error: cannot reach Pier at {url}: is it running? set PIER_API_URL\n"
    )
    assert result.stdout == ""


def test_timeouts_also_exit_4(run):
    def slow(request):
        raise httpx.ReadTimeout("timed out", request=request)

    result = run("apps", transport=httpx.MockTransport(slow))
    assert result.exit_code == 4
    assert "did not answer in time" in result.stderr


def test_rejected_token_exits_3_and_says_to_log_in(run, api):
    api.on("GET", "apps", {"id": "unauthorized", "message": "invalid or revoked API token"}, 401)
    result = run("apps")
    assert result.exit_code == ExitCode.NOT_LOGGED_IN == 3
    first, hint = result.stderr.splitlines()
    assert first == "error: not logged in or token invalid: run `pier login`"
    assert "invalid or revoked API token" in hint and "PIER_API_KEY" in hint


def test_no_token_at_all_exits_3_without_a_request(run, api):
    result = run("apps", env={"PIER_API_KEY": None})
    assert result.exit_code == 3
    assert "not logged in" in result.stderr
    assert api.requests == []


def test_server_errors_show_the_servers_message_and_exit_1(run, api):
    message = "app 'nope' not found (or you have no access to it)"
    api.on("GET", "apps/nope", {"id": "not_found", "message": message}, 404)
    result = run("apps:info", "-a", "nope")
    assert result.exit_code == ExitCode.ERROR
    assert result.stderr == f"error: {message}\n"


def test_errors_are_red_only_on_a_terminal(run, api):
    api.on("GET", "apps/x", {"id": "forbidden", "message": "nope"}, 403)
    result = run("apps:info", "-a", "x")
    assert "\x1b[" not in result.stderr


def test_a_non_json_answer_is_explained(run):
    transport = httpx.MockTransport(lambda request: httpx.Response(200, text="<html>"))
    result = run("apps", transport=transport)
    assert result.exit_code == 1
    assert "did not answer with JSON" in result.stderr


def test_debug_shows_the_traceback_and_requests(run, api):
    api.on("GET", "apps/x", {"id": "not_found", "message": "gone"}, 404)
    quiet = run("apps:info", "-a", "x")
    assert "Traceback" not in quiet.stderr
    loud = run("--debug", "apps:info", "-a", "x")
    assert loud.exit_code == 1
    assert "Traceback" in loud.stderr
    assert "> GET http://pier.test/api/apps/x" in loud.stderr
    assert loud.stderr.rstrip().endswith("error: gone")


def test_usage_errors_exit_2(run, api):
    result = run("config:set", "NOEQUALS", "-a", "demo")
    assert result.exit_code == ExitCode.USAGE == 2
    assert "'NOEQUALS' is not KEY=value" in result.stderr
    assert api.requests == []
    assert run("ps:scale", "web", "-a", "demo").exit_code == 2
    assert run("no-such-command").exit_code == 2


def test_config_get_of_an_unset_key_exits_1(run, api):
    api.on("GET", "apps/demo/config-vars", {"A": "1"})
    result = run("config:get", "MISSING", "-a", "demo")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "MISSING is not set on demo" in result.stderr


def test_destroy_refuses_without_a_matching_confirm(run, api):
    api.on("DELETE", "apps/demo", status=204)
    missing = run("apps:destroy", "-a", "demo")
    assert missing.exit_code == 1
    assert "--confirm demo" in missing.stderr
    wrong = run("apps:destroy", "-a", "demo", "--confirm", "other")
    assert wrong.exit_code == 1
    assert "does not match" in wrong.stderr
    assert api.requests == []
    assert run("apps:destroy", "-a", "demo", "--confirm", "demo").exit_code == 0
    assert api.paths() == ["DELETE /api/apps/demo"]


def test_server_failures_point_at_the_server_log(run):
    transport = httpx.MockTransport(lambda request: httpx.Response(500, text="<h1>oops</h1>"))
    result = run("apps", transport=transport)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: GET http://pier.test/api/apps failed: HTTP 500",
        "hint: the server failed: its log says why",
    ]
