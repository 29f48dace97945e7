"""`git push` deploys: a real git client, the real platform processes, real Docker."""

import os
import signal
import subprocess
import threading
import uuid

import docker
import httpx
import pytest

from tests.helpers import git

pytestmark = pytest.mark.docker


def new_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def push(platform, repo, app: str, *extra: str, token: str | None = None, check=False):
    return git("push", platform.git_url(app, token), "HEAD:main", *extra, cwd=repo, check=check)


def releases(platform, app: str) -> list[dict]:
    return platform.api.get(f"/apps/{app}/releases").json()


def serve_once(image: str, command: str) -> str:
    """Run image's web command in a container and return the body of GET / (by container IP)."""
    client = docker.from_env()
    network = client.networks.create(f"pier-e2e-{uuid.uuid4().hex[:6]}")
    container = client.containers.run(
        image, command=command, environment={"PORT": "5000"}, network=network.name, detach=True
    )
    try:
        container.reload()
        ip = container.attrs["NetworkSettings"]["Networks"][network.name]["IPAddress"]
        for _ in range(60):
            try:
                return httpx.get(f"http://{ip}:5000/", timeout=2).text
            except httpx.HTTPError:
                container.reload()
                if container.status == "exited":
                    raise AssertionError(container.logs().decode()) from None
                threading.Event().wait(0.5)
        raise AssertionError("web process never answered:\n" + container.logs().decode())
    finally:
        container.remove(force=True)
        network.remove()


def test_push_builds_releases_and_the_image_serves(platform, app_repo):
    app = new_name("py")
    platform.create_app(app)
    repo = app_repo("python-req")
    result = push(platform, repo, app)
    assert result.returncode == 0, result.stderr
    assert "remote: -----> Building" in result.stderr
    assert "remote: -----> Launching..." in result.stderr
    assert "remote:        Released v2" in result.stderr
    assert f"http://{app}.localhost:{platform.router_port} deployed" in result.stderr
    assert "python-req ok" in platform.get(app).text
    latest = releases(platform, app)[0]
    assert latest["version"] == 2 and latest["description"].startswith("Deploy ")
    build = platform.api.get(f"/apps/{app}/builds").json()[0]
    assert build["status"] == "succeeded" and "web" in build["process_types"]
    output = platform.api.get(f"/apps/{app}/builds/{build['id']}/output").text
    assert "-----> Built v2" in output
    assert "python-req ok" in serve_once(build["image"], build["process_types"]["web"])


def test_failed_build_rejects_push_and_keeps_release(platform, app_repo):
    app = new_name("bad")
    platform.create_app(app)
    result = push(platform, app_repo("no-detect"), app)
    assert result.returncode != 0
    assert "pre-receive hook declined" in result.stderr
    assert "remote:" in result.stderr
    assert [r["version"] for r in releases(platform, app)] == [1]
    assert platform.api.get(f"/apps/{app}/builds").json()[0]["status"] == "failed"


def test_push_to_other_branch_is_refused(platform, app_repo):
    app = new_name("br")
    platform.create_app(app)
    repo = app_repo("static")
    result = git("push", platform.git_url(app), "HEAD:feature", cwd=repo, check=False)
    assert result.returncode != 0
    assert "deploys only the main branch" in result.stderr
    assert "git push pier feature:main" in result.stderr


def test_wrong_token_and_other_users_app(platform, app_repo):
    app = new_name("auth")
    platform.create_app(app)
    repo = app_repo("static")
    denied = push(platform, repo, app, token="pier_wrong")
    assert denied.returncode != 0
    assert "Authentication failed" in denied.stderr or "401" in denied.stderr
    missing = push(platform, repo, "no-such-app-here")
    assert missing.returncode != 0
    no_auth = httpx.get(f"{platform.url}/{app}.git/info/refs?service=git-receive-pack")
    assert no_auth.status_code == 401
    assert no_auth.headers["WWW-Authenticate"].startswith("Basic")


def test_force_push_of_older_commit_deploys_it(platform, app_repo):
    app = new_name("old")
    platform.create_app(app)
    repo = app_repo("static")
    first = git("rev-parse", "HEAD", cwd=repo).stdout.strip()
    assert push(platform, repo, app).returncode == 0
    (repo / "index.html").write_text("<h1>second</h1>")
    git("commit", "-qam", "second", cwd=repo)
    assert push(platform, repo, app).returncode == 0
    git("reset", "--hard", first, cwd=repo)
    result = push(platform, repo, app, "--force")
    assert result.returncode == 0, result.stderr
    assert releases(platform, app)[0]["build"]["source_sha"] == first


@pytest.fixture
def slow_repo(app_repo):
    """A repo whose third-party buildpack takes a while to compile."""
    repo = app_repo("third-party-buildpack")
    compile_script = repo / "vendor" / "hello-buildpack" / "bin" / "compile"
    text = compile_script.read_text().replace("set -e\n", "set -e\nsleep 8\n", 1)
    compile_script.write_text(text)
    git("commit", "-qam", "slow", cwd=repo)
    return repo


def start_push(platform, repo, app: str) -> subprocess.Popen:
    return subprocess.Popen(
        ["git", "push", platform.git_url(app), "HEAD:main"],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_for_build(platform, app: str) -> dict:
    for _ in range(300):
        builds = platform.api.get(f"/apps/{app}/builds").json()
        if builds and builds[0]["status"] == "building":
            return builds[0]
        threading.Event().wait(0.2)
    raise AssertionError("no build started")


def test_two_pushes_at_once_never_race(platform, app_repo, slow_repo):
    app = new_name("race")
    platform.create_app(app)
    with start_push(platform, slow_repo, app) as first:
        wait_for_build(platform, app)
        second = push(platform, app_repo("static"), app, "--force")
        first_err = first.communicate(timeout=600)[1]
    assert first.returncode == 0, first_err
    assert second.returncode != 0
    assert "another build of" in second.stderr
    assert [r["version"] for r in releases(platform, app)] == [2, 1]


def test_interrupted_push_makes_no_release(platform, slow_repo):
    app = new_name("gone")
    platform.create_app(app)
    with start_push(platform, slow_repo, app) as pusher:
        build = wait_for_build(platform, app)
        os.killpg(pusher.pid, signal.SIGKILL)
    for _ in range(300):
        status = platform.api.get(f"/apps/{app}/builds/{build['id']}").json()["status"]
        if status not in ("pending", "building"):
            break
        threading.Event().wait(0.2)
    assert status == "failed"
    output = platform.api.get(f"/apps/{app}/builds/{build['id']}/output").text
    assert "push was interrupted" in output
    assert [r["version"] for r in releases(platform, app)] == [1]
