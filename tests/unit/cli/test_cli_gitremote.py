
import pytest

from cli import gitremote
from tests.helpers import git


@pytest.fixture
def repo(tmp_path, monkeypatch):
    path = tmp_path / "repo"
    path.mkdir()
    git("init", "-q", cwd=path)
    monkeypatch.chdir(path)
    return path


def test_app_comes_from_the_pier_remote_of_cwd(repo, run, api):
    assert gitremote.app_from_remote(repo) is None
    git("remote", "add", "pier", "http://127.0.0.1:5000/demo.git", cwd=repo)
    assert gitremote.app_from_remote(repo) == "demo"
    sub = repo / "sub" / "dir"
    sub.mkdir(parents=True)
    assert gitremote.app_from_remote(sub) == "demo"

    api.on("GET", "apps/demo/config-vars", {"A": "1"})
    result = run("config:get", "A")
    assert result.exit_code == 0, result.output
    assert result.stdout == "1\n"


def test_a_different_remote_name_is_not_used(repo, run):
    git("remote", "add", "origin", "http://127.0.0.1:5000/demo.git", cwd=repo)
    result = run("config")
    assert result.exit_code == 1
    assert "no app specified: use -a APP" in result.stderr


def test_outside_a_repo_the_app_must_be_given(run):
    result = run("releases")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "error: no app specified: use -a APP or run inside a repo with a `pier` git remote"
    )


def test_explicit_app_wins_over_the_remote(repo, run, api):
    git("remote", "add", "pier", "http://127.0.0.1:5000/demo.git", cwd=repo)
    api.on("GET", "apps/other/domains", [])
    assert run("domains", "-a", "other").exit_code == 0
    assert api.paths() == ["GET /api/apps/other/domains"]


def test_apps_create_adds_the_remote_only_when_there_is_none(repo, run, api, app_json):
    api.on("POST", "apps", app_json, status=201)
    result = run("apps:create", "demo")
    assert result.exit_code == 0, result.output
    assert api.sent("POST", "apps") == {"name": "demo"}
    assert git("remote", "get-url", "pier", cwd=repo).stdout.strip() == app_json["git_url"]
    assert "http://demo.localhost:8080" in result.stdout

    api.on("POST", "apps", {**app_json, "name": "second", "git_url": "http://p/second.git"}, 201)
    result = run("apps:create")
    assert api.sent("POST", "apps") == {}
    assert git("remote", "get-url", "pier", cwd=repo).stdout.strip() == app_json["git_url"]
    assert "git:remote -a second" in result.stderr


def test_apps_create_outside_a_repo_adds_no_remote(run, api, app_json, tmp_path):
    api.on("POST", "apps", app_json, status=201)
    result = run("apps:create")
    assert result.exit_code == 0, result.output
    assert "remote" not in result.stderr


def test_apps_destroy_removes_the_remote_pointing_at_it(repo, run, api):
    git("remote", "add", "pier", "http://127.0.0.1:5000/demo.git", cwd=repo)
    api.on("DELETE", "apps/demo", status=204)
    result = run("apps:destroy", "--confirm", "demo")
    assert result.exit_code == 0, result.output
    assert gitremote.remote_url(repo) is None


def test_apps_destroy_keeps_a_remote_of_another_app(repo, run, api):
    git("remote", "add", "pier", "http://127.0.0.1:5000/demo.git", cwd=repo)
    api.on("DELETE", "apps/other", status=204)
    assert run("apps:destroy", "-a", "other", "--confirm", "other").exit_code == 0
    assert gitremote.app_from_remote(repo) == "demo"


def test_apps_rename_repoints_the_remote(repo, run, api, app_json):
    git("remote", "add", "pier", "http://127.0.0.1:5000/demo.git", cwd=repo)
    renamed = {**app_json, "name": "fresh", "git_url": "http://127.0.0.1:5000/fresh.git"}
    api.on("PATCH", "apps/demo", renamed)
    result = run("apps:rename", "fresh")
    assert result.exit_code == 0, result.output
    assert api.sent("PATCH", "apps/demo") == {"name": "fresh"}
    assert gitremote.app_from_remote(repo) == "fresh"


def test_git_remote_adds_then_updates(repo, run, api, app_json):
    api.on("GET", "apps/demo", app_json)
    result = run("git:remote", "-a", "demo")
    assert result.exit_code == 0, result.output
    assert "Added git remote pier" in result.stdout
    git("remote", "set-url", "pier", "http://elsewhere/x.git", cwd=repo)
    result = run("git:remote", "-a", "demo")
    assert "Updated git remote pier" in result.stdout
    assert git("remote", "get-url", "pier", cwd=repo).stdout.strip() == app_json["git_url"]


def test_git_remote_outside_a_repo_is_an_error(run, api, app_json):
    api.on("GET", "apps/demo", app_json)
    result = run("git:remote", "-a", "demo")
    assert result.exit_code == 1
    assert "not in a git repository" in result.stderr
