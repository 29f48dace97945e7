"""What each command sends to the API, and what it prints."""

import json

FORMATION = [
    {"type": "web", "quantity": 1, "size": "standard", "command": "gunicorn app"},
    {"type": "worker", "quantity": 0, "size": "standard", "command": "celery"},
]


def test_config_set_sends_values_verbatim(run, api, app_json):
    api.on("PATCH", "apps/demo/config-vars", {})
    api.on("GET", "apps/demo", {**app_json, "current_release": {"version": 4}})
    value = "postgres://u:p@h/db?a=b c\nü"
    result = run("config:set", f"DATABASE_URL={value}", "EMPTY=", "-a", "demo")
    assert result.exit_code == 0, result.output
    assert api.sent("PATCH", "apps/demo/config-vars") == {"DATABASE_URL": value, "EMPTY": ""}
    assert "Set DATABASE_URL, EMPTY on demo (release v4)" in result.stdout


def test_config_unset_sends_nulls(run, api, app_json):
    api.on("PATCH", "apps/demo/config-vars", {})
    api.on("GET", "apps/demo", app_json)
    assert run("config:unset", "A", "B", "-a", "demo").exit_code == 0
    assert api.sent("PATCH", "apps/demo/config-vars") == {"A": None, "B": None}


def test_config_get_prints_the_exact_value(run, api):
    api.on("GET", "apps/demo/config-vars", {"A": "  spaced\nünicode  "})
    result = run("config:get", "A", "-a", "demo")
    assert result.stdout == "  spaced\nünicode  \n"


def test_releases_info_accepts_n_or_vn(run, api):
    release = {
        "version": 3,
        "description": "Deploy abc",
        "status": "succeeded",
        "build": {"id": 9, "source_sha": "abcdef1234567890"},
        "creator": {"email": "a@example.com"},
        "created_at": "2026-11-28T01:02:03Z",
        "current": False,
        "config_vars": {"A": "1"},
    }
    api.on("GET", "apps/demo/releases/v3", release)
    for arg in ("3", "v3", "V3"):
        result = run("releases:info", arg, "-a", "demo")
        assert result.exit_code == 0, result.output
    assert "abcdef123456" in result.stdout and "A:" in result.stdout


def test_rollback_to_a_version_or_the_previous_one(run, api):
    api.on("POST", "apps/demo/releases", {"version": 6, "description": "Rollback to v3"}, 201)
    result = run("rollback", "3", "-a", "demo")
    assert api.sent("POST", "apps/demo/releases") == {"rollback": "v3"}
    assert "Rollback to v3 on demo: now at v6" in result.stdout
    run("rollback", "-a", "demo")
    assert api.sent("POST", "apps/demo/releases") == {}


def test_ps_scale_sends_quantities_and_sizes(run, api):
    api.on("PATCH", "apps/demo/formation", FORMATION)
    result = run("ps:scale", "web=2:large", "worker=1", "-a", "demo")
    assert result.exit_code == 0, result.output
    assert api.sent("PATCH", "apps/demo/formation") == {
        "updates": [
            {"type": "web", "quantity": 2, "size": "large"},
            {"type": "worker", "quantity": 1},
        ]
    }
    assert "web=1:standard worker=0:standard" in result.stdout


def test_ps_scale_relative_reads_the_formation_first(run, api):
    api.on("GET", "apps/demo/formation", FORMATION)
    api.on("PATCH", "apps/demo/formation", FORMATION)
    assert run("ps:scale", "web+2", "-a", "demo").exit_code == 0
    assert api.sent("PATCH", "apps/demo/formation") == {"updates": [{"type": "web", "quantity": 3}]}
    result = run("ps:scale", "web-2", "-a", "demo")
    assert result.exit_code == 1
    assert "below 0" in result.stderr


def test_ps_scale_without_arguments_shows_the_formation(run, api):
    api.on("GET", "apps/demo/formation", FORMATION)
    result = run("ps:scale", "-a", "demo")
    assert result.stdout == "web=1:standard worker=0:standard\n"


def test_ps_type_sets_one_type_or_all(run, api):
    api.on("GET", "apps/demo/formation", FORMATION)
    api.on("PATCH", "apps/demo/formation", FORMATION)
    run("ps:type", "web=large", "-a", "demo")
    assert api.sent("PATCH", "apps/demo/formation") == {
        "updates": [{"type": "web", "size": "large"}]
    }
    run("ps:type", "small", "-a", "demo")
    assert api.sent("PATCH", "apps/demo/formation") == {
        "updates": [{"type": "web", "size": "small"}, {"type": "worker", "size": "small"}]
    }
    result = run("ps:type", "-a", "demo")
    assert result.stdout.splitlines()[1].split() == ["web", "standard", "1"]


def test_ps_lists_processes(run, api):
    dynos = [
        {
            "name": "web.1",
            "type": "web",
            "state": "up",
            "release": {"version": 3},
            "size": "standard",
            "command": "gunicorn app",
            "started_at": None,
            "restarts": 0,
        }
    ]
    api.on("GET", "apps/demo/dynos", dynos)
    api.on("GET", "apps/demo/sleep", {"enabled": False, "sleeping": False})
    result = run("ps", "-a", "demo")
    assert result.stdout.splitlines()[1].split()[:4] == ["web.1", "up", "v3", "standard"]
    assert "Sleep" not in result.stdout
    assert json.loads(run("ps", "-a", "demo", "--json").stdout) == dynos


def test_ps_sleep_enable_sends_the_duration_and_ps_shows_it(run, api):
    asleep = {"enabled": True, "after": "30m", "after_seconds": 1800, "sleeping": True,
              "since": "2026-11-28T01:02:03+00:00"}
    api.on("POST", "apps/demo/sleep", {**asleep, "sleeping": False})
    result = run("ps:sleep:enable", "--after", "30m", "-a", "demo")
    assert api.sent("POST", "apps/demo/sleep") == {"after": "30m"}
    assert "web processes stop after 30m without requests" in result.stdout
    api.on("GET", "apps/demo/dynos", [])
    api.on("GET", "apps/demo/sleep", asleep)
    shown = run("ps", "-a", "demo").stdout
    assert "asleep since" in shown and "the next request wakes it" in shown


def test_ps_restart_targets(run, api):
    api.on("POST", "apps/demo/dynos/restart", {"message": "restarting web.1 of demo"}, 202)
    result = run("ps:restart", "web.1", "-a", "demo")
    assert api.sent("POST", "apps/demo/dynos/restart") == {"target": "web.1"}
    assert result.stdout == "restarting web.1 of demo\n"
    run("ps:restart", "-a", "demo")
    assert api.sent("POST", "apps/demo/dynos/restart") == {"target": None}


def test_maintenance_on_off_and_status(run, api, app_json):
    api.on("PATCH", "apps/demo", {**app_json, "maintenance": True})
    api.on("GET", "apps/demo", {**app_json, "maintenance": True})
    assert run("maintenance:on", "-a", "demo").exit_code == 0
    assert api.sent("PATCH", "apps/demo") == {"maintenance": True}
    run("maintenance:off", "-a", "demo")
    assert api.sent("PATCH", "apps/demo") == {"maintenance": False}
    assert run("maintenance", "-a", "demo").stdout == "on\n"


def test_domains_and_access_quote_path_segments(run, api):
    api.on("POST", "apps/demo/domains", {"hostname": "www.example.com", "cname": "demo.x"}, 201)
    api.on("DELETE", "apps/demo/domains/www.example.com", status=204)
    api.on("POST", "apps/demo/collaborators", {"email": "b+x@example.com", "role": "c"}, 201)
    api.on("DELETE", "apps/demo/collaborators/b+x@example.com", status=204)
    assert run("domains:add", "www.example.com", "-a", "demo").exit_code == 0
    assert api.sent("POST", "apps/demo/domains") == {"hostname": "www.example.com"}
    assert run("domains:remove", "www.example.com", "-a", "demo").exit_code == 0
    assert run("access:add", "b+x@example.com", "-a", "demo").exit_code == 0
    assert api.sent("POST", "apps/demo/collaborators") == {"email": "b+x@example.com"}
    result = run("access:remove", "b+x@example.com", "-a", "demo")
    assert result.exit_code == 0, result.output
    assert api.requests[-1].url.raw_path == b"/api/apps/demo/collaborators/b%2Bx@example.com"


def test_builds_listing(run, api):
    build = {
        "id": 4,
        "status": "succeeded",
        "source_sha": "0123456789abcdef",
        "buildpack": "python",
        "created_at": "2026-11-28T01:02:03Z",
        "started_at": None,
        "finished_at": None,
    }
    api.on("GET", "apps/demo/builds", [build])
    result = run("builds", "-a", "demo")
    assert result.stdout.splitlines()[1].split()[:4] == ["4", "succeeded", "0123456789ab", "python"]


def test_app_names_are_quoted_in_paths(run, api):
    run("apps:info", "-a", "../account")
    assert api.requests[0].url.raw_path == b"/api/apps/..%2Faccount"
