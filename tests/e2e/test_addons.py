"""Add-ons on the whole platform: the worker provisions and restores, `pier pg:psql` and
`pier redis:cli` on a real terminal, and Heroku's Python sample flow (Django, dj-database-url
with ssl_require=True, `release: ./manage.py migrate`) from `git push` to rows kept across
an add-on restart, a platform restart, a restore and a credentials rotation."""

import json
import os
import pty
import select
import subprocess
import sys
import time
import uuid
from pathlib import Path

import docker
import pytest

from tests.e2e.helpers import pier
from tests.helpers import git, wait_for

pytestmark = pytest.mark.docker


def on_terminal(platform, args: list[str], steps: list[tuple[bytes, bytes]],
                timeout: float = 180) -> tuple[int, bytes]:
    """Run `pier args` on a new terminal: for each (seen, typed), type once seen is on screen.

    Return the exit status and the whole screen.
    """
    leader, follower = pty.openpty()
    env = {**os.environ, "PIER_API_URL": platform.url, "PIER_API_KEY": platform.token}
    process = subprocess.Popen([str(Path(sys.executable).parent / "pier"), *args],
                               stdin=follower, stdout=follower, stderr=follower, env=env,
                               close_fds=True)
    os.close(follower)
    screen, pending, deadline = b"", list(steps), time.monotonic() + timeout
    answered = 0
    try:
        while process.poll() is None and time.monotonic() < deadline:
            if select.select([leader], [], [], 0.5)[0]:
                try:
                    screen += os.read(leader, 4096)
                except OSError:  # the command ended and closed the terminal
                    break
            if screen.count(b"\x1b[6n") > answered:  # where is the cursor? (redis-cli asks)
                answered += 1
                os.write(leader, b"\x1b[1;80R")  # what a terminal of 80 columns answers
            if pending and pending[0][0] in screen:
                os.write(leader, pending.pop(0)[1])
        if process.poll() is None:
            process.kill()
        code = process.wait(30)
    finally:
        os.close(leader)
        if process.poll() is None:
            process.kill()
    assert not pending, f"never saw {pending[0][0]!r} on:\n{screen.decode(errors='replace')}"
    return code, screen


def create_addon(platform, app: str, service: str) -> dict:
    """`pier addons:create`: the API answers at once, the worker provisions, the CLI waits."""
    done = pier(platform, "addons:create", service, "-a", app, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "done" in done.stderr
    return json.loads(done.stdout)


def destroy_addon(platform, app: str, name: str) -> None:
    done = pier(platform, "addons:destroy", name, "-a", app, "--confirm", app)
    assert done.returncode == 0, done.stdout + done.stderr


def test_create_on_the_worker_then_psql_and_redis_cli_on_a_terminal(platform):
    app = f"sh-{uuid.uuid4().hex[:6]}"
    platform.create_app(app)
    answer = platform.api.post(f"/apps/{app}/addons", json={"service": "postgresql"})
    assert answer.status_code == 202 and answer.json()["state"] == "provisioning"
    name = answer.json()["name"]
    wait_for(lambda: platform.api.get(f"/addons/{name}").json()["state"] == "available",
             timeout=600, interval=1, what="the worker to provision the add-on")
    pg = platform.api.get(f"/addons/{name}").json()
    redis = create_addon(platform, app, "redis")
    try:
        code, screen = on_terminal(platform, ["pg:psql", "-a", app], [
            (b"=>", b"SELECT 40 + 2 AS answer, ssl FROM pg_stat_ssl "
                    b"WHERE pid = pg_backend_pid();\r"),
            (b"42", b"\\q\r"),
        ])
        assert code == 0, screen
        assert b"42 | t" in screen  # over TLS, as the app's own connections
        code, screen = on_terminal(platform, ["redis:cli", "-a", app], [
            (b"6379>", b"SET greeting hello\r"),
            (b"OK", b"GET greeting\r"),
            (b'"hello"', b"quit\r"),
        ])
        assert code == 0, screen
        for addon in (pg, redis):  # the credentials never reach the screen
            password = platform.api.get(f"/apps/{app}/config-vars").json()[
                addon["attachments"][0]["config_var"]].split(":")[2].split("@")[0]
            assert password.encode() not in screen
    finally:
        destroy_addon(platform, app, pg["name"])
        destroy_addon(platform, app, redis["name"])


def test_the_shell_needs_an_addon(platform):
    app = f"sh-{uuid.uuid4().hex[:6]}"
    platform.create_app(app)
    code, screen = on_terminal(platform, ["redis:cli", "-a", app], [])
    assert code != 0 and f"{app} has no redis add-on".encode() in screen


def page(platform, app: str, path: str = "/") -> str:
    response = platform.get(app, path)
    assert response.status_code == 200, response.text
    return response.text.strip()


def test_heroku_python_sample_flow(platform, app_repo):
    app = f"hs-{uuid.uuid4().hex[:6]}"
    platform.create_app(app)
    addon = create_addon(platform, app, "postgresql")
    try:
        _sample_flow(platform, app_repo, app, addon)
    finally:
        destroy_addon(platform, app, addon["name"])


def _sample_flow(platform, app_repo, app: str, addon: dict) -> None:
    repo = app_repo("django-db")
    pushed = git("push", platform.git_url(app), "HEAD:main", cwd=repo, check=False)
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert "Running migrations" in pushed.stdout + pushed.stderr  # the release phase
    wait_for(lambda: platform.get(app).status_code == 200, timeout=120, what="the app")
    assert page(platform, app, "/add?text=one") == "rows=one ssl=True"
    assert page(platform, app, "/add?text=two") == "rows=one,two ssl=True"

    docker.from_env().containers.get(_container(addon)).restart()
    wait_for(lambda: platform.get(app).status_code == 200, timeout=60, interval=1,
             what="the app after its add-on restarted")
    assert page(platform, app) == "rows=one,two ssl=True"
    platform.stop()
    platform.start()
    wait_for(lambda: platform.get(app).status_code == 200, timeout=60, interval=1,
             what="the app after the platform restarted")
    assert page(platform, app) == "rows=one,two ssl=True"

    captured = pier(platform, "pg:backups:capture", "-a", app)
    assert captured.returncode == 0, captured.stdout + captured.stderr
    assert page(platform, app, "/add?text=three") == "rows=one,two,three ssl=True"
    restored = pier(platform, "pg:backups:restore", "b001", "-a", app, "--confirm", app)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "Restored b001" in restored.stdout
    wait_for(lambda: platform.get(app).text.strip() == "rows=one,two ssl=True", timeout=30,
             what="the backup's rows")

    old_url = platform.api.get(f"/apps/{app}/config-vars").json()["DATABASE_URL"]
    before = platform.api.get(f"/apps/{app}/releases").json()[0]["version"]
    rotated = pier(platform, "pg:credentials:rotate", "-a", app)
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr
    wait_for(lambda: _running_release(platform, app) > before, timeout=120, interval=1,
             what="the app to restart with the new DATABASE_URL")
    assert page(platform, app, "/add?text=four") == "rows=one,two,four ssl=True"
    probe = ("import psycopg, sys\ntry:\n    psycopg.connect(sys.argv[1] + '?sslmode=require')\n"
             "except psycopg.OperationalError as e:\n    print('refused:', e)\n")
    refused = pier(platform, "run", "--no-tty", "-a", app, "--", "python", "-c", probe, old_url)
    assert "refused:" in refused.stdout and "password authentication failed" in refused.stdout


def _container(addon: dict) -> str:
    return f"pier-addon-{addon['id'].replace('-', '')[:24]}"


def _running_release(platform, app: str) -> int:
    releases = platform.api.get(f"/apps/{app}/releases").json()
    return max((r["version"] for r in releases if r["status"] == "succeeded"), default=0)
