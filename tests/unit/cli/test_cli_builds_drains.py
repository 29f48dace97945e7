"""pier builds:info, builds:output, drains, drains:add, drains:remove."""

import json

import httpx

BUILD = {
    "id": "5f0c2a9e-1111-2222-3333-444455556666",
    "status": "succeeded",
    "source_sha": "1a2b3c4d5e6f7a8b",
    "buildpack": "python",
    "process_types": {"web": "gunicorn app:app", "worker": "celery worker"},
    "image": "pier/demo:1a2b3c4d5e6f",
    "created_at": "2026-11-28T01:02:03Z",
    "started_at": "2026-11-28T01:02:04Z",
    "finished_at": "2026-11-28T01:03:04Z",
}


def text(body: str, status: int = 200):
    return lambda request: httpx.Response(
        status, text=body, headers={"Content-Type": "text/plain; charset=utf-8"}
    )


def test_builds_output_of_a_build_by_id_prefix_or_the_latest(run, api):
    output = "-----> Python app\n\x1b[1mdone\x1b[0m\n"
    api.route("GET", "apps/demo/builds/5f0c2a/output", text(output))
    api.route("GET", "apps/demo/build-output", text("latest build, no final newline"))
    result = run("builds:output", "5f0c2a", "-a", "demo")
    assert result.exit_code == 0, result.output
    # A build's escape sequences are shown, never sent to the terminal (output stored before
    # Pier escaped build lines holds them raw).
    assert result.stdout == "-----> Python app\n\\x1b[1mdone\\x1b[0m\n"
    assert "accept" in api.requests[-1].headers
    on_tty = run("builds:output", "5f0c2a", "-a", "demo", tty=True).stdout
    assert on_tty == result.stdout
    latest = run("builds:output", "-a", "demo")
    assert latest.stdout == "latest build, no final newline\n"


def test_builds_output_errors(run, api):
    message = "give at least 6 characters of the build id (see `pier builds`)"
    api.on("GET", "apps/demo/builds/5f0/output", {"id": "not_found", "message": message}, 404)
    result = run("builds:output", "5f0", "-a", "demo")
    assert (result.exit_code, result.stderr) == (1, f"error: {message}\n")
    api.on("GET", "apps/demo/build-output", {"id": "not_found", "message": "no build yet"}, 404)
    assert run("builds:output", "-a", "demo").stderr == "error: no build yet\n"


def test_builds_info_by_id_or_the_latest(run, api):
    api.on("GET", "apps/demo/builds/5f0c2a9e", BUILD)
    api.on("GET", "apps/demo/builds", [BUILD, {**BUILD, "id": "older"}])
    result = run("builds:info", "5f0c2a9e", "-a", "demo")
    assert result.exit_code == 0, result.output
    assert f"=== demo build {BUILD['id']}" in result.stdout
    assert "Processes:" in result.stdout and "worker: celery worker" in result.stdout
    assert "Commit:" in result.stdout and "1a2b3c4d5e6f7a8b" in result.stdout
    assert json.loads(run("builds:info", "-a", "demo", "--json").stdout) == BUILD
    assert api.paths()[-1] == "GET /api/apps/demo/builds"


def test_builds_info_without_builds(run, api):
    api.on("GET", "apps/demo/builds", [])
    result = run("builds:info", "-a", "demo")
    assert result.exit_code == 1
    assert "demo has no builds yet" in result.stderr


DRAIN_URL = "syslog+tls://logs.example.com:6514/x?token=a b"
DRAIN = {"id": 7, "url": DRAIN_URL, "created_at": "2026-11-28T01:02:03Z"}


def test_drains_list(run, api):
    api.on("GET", "apps/demo/drains", [DRAIN])
    result = run("drains", "-a", "demo")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].split() == ["URL", "ADDED"]
    assert DRAIN_URL in result.stdout
    assert json.loads(run("drains", "-a", "demo", "--json").stdout) == [DRAIN]
    api.on("GET", "apps/demo/drains", [])
    empty = run("drains", "-a", "demo")
    assert empty.stdout == "" and "no log drains" in empty.stderr


def test_drains_add_and_remove(run, api):
    api.on("POST", "apps/demo/drains", DRAIN, 201)
    result = run("drains:add", DRAIN_URL, "-a", "demo")
    assert result.exit_code == 0, result.output
    assert api.sent("POST", "apps/demo/drains") == {"url": DRAIN_URL}
    assert f"Added drain {DRAIN_URL} to demo" in result.stdout

    api.route("DELETE", f"apps/demo/drains/{DRAIN_URL}", lambda request: httpx.Response(204))
    result = run("drains:remove", DRAIN_URL, "-a", "demo")
    assert result.exit_code == 0, result.output
    # The whole URL is one path segment: its slashes, colons and spaces are escaped.
    raw = api.requests[-1].url.raw_path.decode()
    escaped = "syslog%2Btls%3A%2F%2Flogs.example.com%3A6514%2Fx%3Ftoken%3Da%20b"
    assert raw == f"/api/apps/demo/drains/{escaped}"
    assert f"Removed drain {DRAIN_URL} from demo" in result.stdout


def test_drains_remove_unknown(run, api):
    result = run("drains:remove", "https://nope.example.com", "-a", "demo")
    assert result.exit_code == 1
    assert "error:" in result.stderr
