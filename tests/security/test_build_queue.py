"""A build that cannot be queued fails at once, and a lost pending build never blocks pushes.

Real Redis: a redis-server child of this module on a free TCP port, stopped mid-test.
The pre-receive hook runs for real on a real git repository.
"""

from __future__ import annotations

import io
import socket
import subprocess
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from api.errors import Conflict
from api.models import App, Build
from builds.services import build_create, listener_key
from pier.redis import get_redis
from tests.helpers import celery_broker


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisChild:
    def __init__(self, tmp_path) -> None:
        self.port, self.dir, self.proc = _free_port(), tmp_path, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir)], stdout=subprocess.DEVNULL)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.1).close()
                return
            except OSError:
                time.sleep(0.025)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture
def queue_redis(tmp_path, settings):
    """Point the platform's Redis and Celery's broker at a Redis of this test's own."""
    child = RedisChild(tmp_path)
    child.start()
    settings.REDIS_URL = child.url
    get_redis.cache_clear()
    with celery_broker(child.url):
        yield child
    if child.proc.poll() is None:
        child.stop()
    get_redis.cache_clear()


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A git repository with one commit, as the hook sees the pushed objects; returns its sha."""
    path = tmp_path / "repo"
    path.mkdir()
    git = ["git", "-C", str(path), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    (path / "Procfile").write_text("web: true\n")
    subprocess.run([*git, "add", "Procfile"], check=True)
    subprocess.run([*git, "commit", "-qm", "first"], check=True)
    monkeypatch.chdir(path)
    return subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True,
                          text=True).stdout.strip()


def push(app: App, user, sha: str, monkeypatch) -> int:
    """Run the pre-receive hook as git would for a push of ``sha`` to main."""
    monkeypatch.setenv("PIER_REPO", f"/repos/{app.id}.git")
    monkeypatch.setenv("PIER_USER_ID", str(user.pk))
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{'0' * 40} {sha} refs/heads/main\n"))
    with pytest.raises(SystemExit) as ended:
        call_command("pier_pre_receive")
    return ended.value.code


@pytest.fixture
def app(db, user, settings, tmp_path):
    settings.PIER_DATA_DIR = tmp_path / "data"
    settings.PIER_DATA_DIR.mkdir()
    settings.PIER_BUILDS_DIR = tmp_path / "builds"
    return App.objects.create(name="secf-queue", owner=user)


def test_push_with_redis_down_fails_the_build_at_once_and_next_push_is_accepted(
    app, user, repo, queue_redis, monkeypatch, capsys
):
    queue_redis.stop()
    assert push(app, user, repo, monkeypatch) == 1
    said = capsys.readouterr().out
    assert "could not queue the build" in said and "try again" in said
    build = app.builds.get()
    assert build.status == Build.Status.FAILED and build.finished_at is not None

    queue_redis.start()  # Redis is back: the next push is not refused as "another build"
    assert build_create(app=app, user=user, source_sha=repo).status == Build.Status.PENDING


def test_pending_build_nobody_waits_for_does_not_block_the_next_push(app, user, queue_redis):
    lost = build_create(app=app, user=user, source_sha="a" * 40)
    # Its task was lost and its pusher went away: the listener key expired long ago.
    Build.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(minutes=2))
    nxt = build_create(app=app, user=user, source_sha="b" * 40)
    assert nxt.status == Build.Status.PENDING
    lost.refresh_from_db()
    assert lost.status == Build.Status.FAILED


def test_pending_build_whose_pusher_waits_still_blocks(app, user, queue_redis):
    waiting = build_create(app=app, user=user, source_sha="a" * 40)
    Build.objects.filter(pk=waiting.pk).update(created_at=timezone.now() - timedelta(minutes=2))
    get_redis().set(listener_key(waiting.id), "1", ex=20)  # its pusher is still listening
    with pytest.raises(Conflict, match="another build of secf-queue is running"):
        build_create(app=app, user=user, source_sha="b" * 40)
    waiting.refresh_from_db()
    assert waiting.status == Build.Status.PENDING
