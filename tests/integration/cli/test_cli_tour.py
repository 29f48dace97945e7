"""A tour of the `pier` command against the real API server (pytest-django's live_server)."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from click.testing import Result

from cli.gitremote import app_from_remote
from tests.helpers import git


def ok(result: Result) -> Result:
    """Assert the command succeeded; show its output when it did not."""
    assert result.exit_code == 0, f"exit {result.exit_code}\n{result.output}\n{result.exception!r}"
    return result


def as_json(result: Result):
    return json.loads(ok(result).stdout)




def test_tour_of_an_app(pier, pier_server, make_user, workdir):
    repo = workdir
    git("init", "-q", cwd=repo)

    # apps:create inside a repo adds the `pier` remote, so -a is not needed afterwards.
    created = ok(pier("apps:create", "tour-app"))
    assert "http://tour-app." in created.stdout
    remote = git("remote", "get-url", "pier", cwd=repo).stdout.strip()
    assert remote == f"{pier_server}/tour-app.git"
    assert app_from_remote(repo) == "tour-app"
    listing = ok(pier("apps"))
    assert listing.stdout.splitlines()[0].split() == ["NAME", "OWNER", "RELEASE", "URL"]
    assert "tour-app" in listing.stdout and "owner@example.com" in listing.stdout
    assert [a["name"] for a in as_json(pier("apps", "--json"))] == ["tour-app"]
    info = as_json(pier("apps:info", "--json"))
    assert info["git_url"] == f"{pier_server}/tour-app.git"

    # Config values survive the round trip byte for byte.
    tricky = "two  spaces, ünïcødé ✓ and a\nnewline = too"
    ok(pier("config:set", f"GREETING={tricky}", "PLAIN=1"))
    assert ok(pier("config:get", "GREETING")).stdout == tricky + "\n"
    assert as_json(pier("config", "--json")) == {"GREETING": tricky, "PLAIN": "1"}
    assert "PLAIN=1" in ok(pier("config", "--shell")).stdout.splitlines()
    ok(pier("config:unset", "PLAIN"))
    missing = pier("config:get", "PLAIN")
    assert missing.exit_code == 1
    assert "PLAIN is not set on tour-app" in missing.stderr

    # v1 came with the app; each config change was a release. Roll back to v2, which
    # still had PLAIN.
    releases = as_json(pier("releases", "--json"))
    assert [r["version"] for r in releases] == [3, 2, 1]
    assert [r["current"] for r in releases] == [True, False, False]
    text = ok(pier("releases")).stdout
    assert "v3" in text and "v1" in text and "Remove PLAIN config vars" in text
    detail = as_json(pier("releases:info", "2", "--json"))
    assert detail["config_vars"] == {"GREETING": tricky, "PLAIN": "1"}
    assert "GREETING:" in ok(pier("releases:info", "v2")).stdout
    rolled = ok(pier("rollback", "v2"))
    assert "Rollback to v2 on tour-app: now at v4" in rolled.stdout
    assert ok(pier("config:get", "PLAIN")).stdout == "1\n"
    ok(pier("rollback"))
    assert pier("config:get", "PLAIN").exit_code == 1

    # Domains.
    added = ok(pier("domains:add", "www.tour.example.com"))
    assert "www.tour.example.com" in added.stdout
    domains = as_json(pier("domains", "--json"))
    assert [d["hostname"] for d in domains] == ["www.tour.example.com"]
    ok(pier("domains:remove", "www.tour.example.com"))
    assert as_json(pier("domains", "--json")) == []

    # Collaborators.
    make_user("friend+cli@example.com")
    ok(pier("access:add", "friend+cli@example.com"))
    roles = {c["email"]: c["role"] for c in as_json(pier("access", "--json"))}
    assert roles == {"owner@example.com": "owner", "friend+cli@example.com": "collaborator"}
    ok(pier("access:remove", "friend+cli@example.com"))
    assert len(as_json(pier("access", "--json"))) == 1

    # Maintenance mode.
    ok(pier("maintenance:on"))
    assert ok(pier("maintenance")).stdout == "on\n"
    ok(pier("maintenance:off"))
    assert as_json(pier("maintenance", "--json")) == {"maintenance": False}

    # Renaming repoints the remote; destroying needs --confirm, then removes the remote.
    ok(pier("apps:rename", "tour-renamed"))
    remote = git("remote", "get-url", "pier", cwd=repo).stdout.strip()
    assert remote == f"{pier_server}/tour-renamed.git"
    refused = pier("apps:destroy")
    assert refused.exit_code == 1
    assert "--confirm tour-renamed" in refused.stderr
    assert pier("apps:destroy", "--confirm", "tour-app").exit_code == 1
    assert ok(pier("apps:info")).exit_code == 0
    ok(pier("apps:destroy", "--confirm", "tour-renamed"))
    assert app_from_remote(repo) is None
    assert as_json(pier("apps", "--json")) == []


def test_processes_of_a_deployed_app(pier, deployed):
    ok(pier("apps:create", "proc-app"))
    deployed("proc-app")
    formation = as_json(pier("ps:scale", "-a", "proc-app", "--json"))
    assert {f["type"]: f["quantity"] for f in formation} == {"web": 1, "worker": 0}

    scaled = ok(pier("ps:scale", "web=2:large", "worker=1", "-a", "proc-app"))
    assert "web=2:large" in scaled.stdout and "worker=1:standard" in scaled.stdout
    ok(pier("ps:scale", "web+1", "worker-1", "-a", "proc-app"))
    sizes = as_json(pier("ps:type", "-a", "proc-app", "--json"))
    assert {f["type"]: (f["quantity"], f["size"]) for f in sizes} == {
        "web": (3, "large"),
        "worker": (0, "standard"),
    }
    ok(pier("ps:type", "small", "-a", "proc-app"))
    assert {f["size"] for f in as_json(pier("ps:type", "-a", "proc-app", "--json"))} == {"small"}

    dynos = as_json(pier("ps", "-a", "proc-app", "--json"))
    assert sorted(d["name"] for d in dynos) == ["web.1", "web.2", "web.3"]
    assert "web.1" in ok(pier("ps", "-a", "proc-app")).stdout
    assert "web.2" in ok(pier("ps:restart", "web.2", "-a", "proc-app")).stdout
    ok(pier("ps:restart", "-a", "proc-app"))

    unknown = pier("ps:scale", "clock=1", "-a", "proc-app")
    assert unknown.exit_code == 1
    assert "no process type 'clock'" in unknown.stderr

    builds = as_json(pier("builds", "-a", "proc-app", "--json"))
    assert [b["source_sha"] for b in builds] == ["1a2b3c4d5e6f"]
    assert "1a2b3c4d5e6f" in ok(pier("builds", "-a", "proc-app")).stdout


def test_unknown_app_is_a_clear_error(pier):
    result = pier("apps:info", "-a", "no-such-app")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: app 'no-such-app' not found")


def test_server_validation_errors_are_shown(pier):
    result = pier("apps:create", "Bad_Name")
    assert result.exit_code == 1
    assert "error: invalid app name 'Bad_Name'" in result.stderr
    result = pier("config:set", "PORT=1", "-a", "nope-app")
    assert result.exit_code == 1


def test_collaborator_sees_the_app_but_outsiders_do_not(pier, make_user):
    ok(pier("apps:create", "shared-app"))
    friend = make_user("friend@example.com")
    stranger = make_user("stranger@example.com")
    ok(pier("access:add", "friend@example.com", "-a", "shared-app"))
    as_friend = {"PIER_API_KEY": friend.plaintext_token}
    assert [a["name"] for a in as_json(pier("apps", "--json", env=as_friend))] == ["shared-app"]
    denied = pier("config", "-a", "shared-app", env={"PIER_API_KEY": stranger.plaintext_token})
    assert denied.exit_code == 1
    assert "not found" in denied.stderr


def test_login_whoami_logout(pier, pier_server, owner, make_user, redis_client):
    make_user("pw@example.com", password="s3cret-pass")
    no_key = {"PIER_API_KEY": None, "PIER_API_URL": None}
    result = pier(
        "login", "--api-url", pier_server, input="pw@example.com\ns3cret-pass\n", env=no_key
    )
    ok(result)
    assert "Logged in as pw@example.com" in result.stdout
    assert ok(pier("whoami", env=no_key)).stdout == "pw@example.com\n"

    bad = pier("login", "--email", "pw@example.com", input="wrong\n", env=no_key)
    assert bad.exit_code == 1
    assert "wrong email or password" in bad.stderr

    ok(pier("logout", env=no_key))
    assert pier("whoami", env=no_key).exit_code == 3

    ok(pier("login", "--token", owner.plaintext_token, "--api-url", pier_server, env=no_key))
    assert ok(pier("whoami", env=no_key)).stdout == "owner@example.com\n"
    # The token given with --token is not revoked on logout: it still works.
    ok(pier("logout", env=no_key))
    assert ok(pier("whoami")).stdout == "owner@example.com\n"


def test_revoked_or_wrong_token_exits_3(pier):
    result = pier("apps", env={"PIER_API_KEY": "pier_not-a-real-token"})
    assert result.exit_code == 3
    assert "run `pier login`" in result.stderr


def test_json_output_of_listings_parses(pier, deployed):
    ok(pier("apps:create", "json-app"))
    deployed("json-app")
    ok(pier("domains:add", "json.example.com", "-a", "json-app"))
    for command in ("apps:info", "config", "releases", "ps", "domains", "access", "builds"):
        data = as_json(pier(command, "-a", "json-app", "--json"))
        assert data is not None, command
    assert json.loads(ok(pier("whoami", "--json")).stdout)["email"] == "owner@example.com"


def _pier_process(*args: str, env: dict) -> subprocess.CompletedProcess:
    """Run the installed `pier` console script (the real entry point) in a child process."""
    script = Path(sys.executable).with_name("pier")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "cli.main"]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PIER_")}
    return subprocess.run(
        [*command, *args], env={**environ, **env}, capture_output=True, text=True, timeout=60
    )


def test_the_installed_command_end_to_end(pier, pier_server, owner, tmp_path):
    env = {"PIER_API_URL": pier_server, "PIER_API_KEY": owner.plaintext_token}
    env["HOME"] = str(tmp_path)
    created = _pier_process("apps:create", "proc-entry", "--json", env=env)
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["name"] == "proc-entry"
    listed = _pier_process("apps", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "proc-entry" in listed.stdout
    assert "\x1b[" not in listed.stdout  # a pipe is not a terminal: no colours

    missing = _pier_process("apps:info", "-a", "nope-app", env=env)
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: app 'nope-app' not found")
    assert "Traceback" not in missing.stderr


def test_the_installed_command_when_the_server_is_down(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    result = _pier_process("apps", env={"PIER_API_URL": url, "PIER_API_KEY": "x"})
    assert result.returncode == 4
    assert result.stderr == f"error: cannot reach Pier at {url}: is it running? set PIER_API_URL\n"
    no_login = _pier_process("apps", env={"HOME": str(tmp_path), "PIER_API_URL": url})
    assert no_login.returncode == 3
