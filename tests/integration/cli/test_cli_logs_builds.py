"""`pier logs` and `pier builds:output` against the real API server (live_server).

pytest-django's live_server is a threaded WSGI server. The log-stream view is async and
streams an async iterator; under WSGI Django collects that iterator in full before sending
it, which is fine for `pier logs` without --tail (the stream ends) but never ends for a
tail. The tail (and its reconnect) is tested against uvicorn in test_cli_logs_tail.py.
"""

import json

import pytest
from click.testing import Result

from api.models import App
from runtime import applog


def ok(result: Result) -> Result:
    assert result.exit_code == 0, f"exit {result.exit_code}\n{result.output}\n{result.exception!r}"
    return result


STREAM = {}  # the app's log stream is keyed by its id, known once it is created


@pytest.fixture
def logged_app(pier, redis_client):
    ok(pier("apps:create", "logged-app"))
    STREAM["id"] = str(App.objects.get(name="logged-app").id)
    key = applog.stream_key(STREAM["id"])
    redis_client.delete(key)
    yield "logged-app"
    redis_client.delete(key)


def write(redis_client, dyno: str, message: str, source: str = "app") -> None:
    applog.append(redis_client, STREAM["id"], source=source, dyno=dyno, message=message)


@pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume asynchronous")
def test_logs_history_with_filters(pier, logged_app, redis_client):
    write(redis_client, "web.1", "hello from web ✓")
    write(redis_client, "worker.1", "working")
    write(redis_client, "router", "GET / 200", source="router")
    write(redis_client, "web.2", "second web")
    write(redis_client, "deploy", "Deployed v2", source="pier")

    lines = ok(pier("logs", "-a", logged_app)).stdout.splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == [
        "app[web.1]: hello from web ✓",
        "app[worker.1]: working",
        "router[router]: GET / 200",
        "app[web.2]: second web",
        "pier[deploy]: Deployed v2",
    ]
    assert lines[0][:4].isdigit() and "+00:00 " in lines[0]
    assert "\x1b[" not in "".join(lines)

    last_two = ok(pier("logs", "-a", logged_app, "-n", "2")).stdout.splitlines()
    assert last_two == lines[-2:]
    web = ok(pier("logs", "-a", logged_app, "-d", "web")).stdout.splitlines()
    assert [line.rsplit(": ", 1)[1] for line in web] == ["hello from web ✓", "second web"]
    one = ok(pier("logs", "-a", logged_app, "--dyno", "web.2")).stdout.splitlines()
    assert [line.rsplit(": ", 1)[1] for line in one] == ["second web"]
    router = ok(pier("logs", "-a", logged_app, "-s", "router")).stdout.splitlines()
    assert [line.split(" ", 1)[1] for line in router] == ["router[router]: GET / 200"]
    assert ok(pier("logs", "-a", logged_app, "-n", "0")).stdout == ""


def test_logs_errors_from_the_server(pier, logged_app, redis_client):
    missing = pier("logs", "-a", "no-such-app")
    assert missing.exit_code == 1
    assert "no-such-app" in missing.stderr and missing.stdout == ""

    too_many = pier("logs", "-a", logged_app, "-n", "999999")
    assert too_many.exit_code == 1
    assert "lines must be between 0 and" in too_many.stderr

    refused = pier("logs", "-a", logged_app, env={"PIER_API_KEY": "pier_not-a-token"})
    assert refused.exit_code == 3
    assert "not logged in or token invalid" in refused.stderr


def test_builds_output_and_info(pier, owner, deployed, settings, tmp_path):
    from api.models import Build
    from builds.paths import build_output_path

    settings.PIER_BUILDS_DIR = tmp_path / "builds"
    ok(pier("apps:create", "built-app"))
    deployed("built-app", sha="aaaaaaaaaaaa")
    deployed("built-app", sha="bbbbbbbbbbbb")
    older, newer = Build.objects.filter(app__name="built-app").order_by("created_at")
    for build, text in [(older, "-----> old build\n"), (newer, "-----> Python app\nünï ✓\n")]:
        path = build_output_path(build)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    assert ok(pier("builds:output", "-a", "built-app")).stdout == "-----> Python app\nünï ✓\n"
    prefix = str(older.id)[:8]
    assert ok(pier("builds:output", prefix, "-a", "built-app")).stdout == "-----> old build\n"

    short = pier("builds:output", str(older.id)[:3], "-a", "built-app")
    assert short.exit_code == 1 and "at least 6 characters" in short.stderr
    unknown = pier("builds:output", "ffffffffff", "-a", "built-app")
    assert unknown.exit_code == 1 and "ffffffffff" in unknown.stderr

    info = json.loads(ok(pier("builds:info", prefix, "-a", "built-app", "--json")).stdout)
    assert info["id"] == str(older.id) and info["source_sha"] == "aaaaaaaaaaaa"
    text = ok(pier("builds:info", "-a", "built-app")).stdout
    assert f"built-app build {newer.id}" in text and "bbbbbbbbbbbb" in text
    assert "web: gunicorn app:app" in text
