"""Build bookkeeping against real Redis and the real database (no Docker needed)."""

import threading
import uuid

import pytest

from api.errors import Conflict
from api.models import Build
from api.services.apps import app_create
from builds import logstream
from builds.services import build_create


def test_follower_sees_every_line_then_the_status(redis_client, tmp_path):
    build_id = str(uuid.uuid4())
    writer = logstream.BuildLogWriter(redis_client, build_id, tmp_path / "out.log")
    writer.write("-----> first")
    seen = []

    def follow():
        lines = logstream.follow(redis_client, build_id, block_ms=200)
        try:
            while True:
                line = next(lines)
                if line is not None:
                    seen.append(line)
        except StopIteration as end:
            seen.append(("end", end.value))

    follower = threading.Thread(target=follow)
    follower.start()
    for i in range(1000):
        writer.write(f"line {i}")
    writer.close("succeeded")
    follower.join(timeout=10)
    assert seen[0] == "-----> first"
    assert seen[1:1001] == [f"line {i}" for i in range(1000)]
    assert seen[-1] == ("end", "succeeded")
    assert "line 999" in logstream.read_file(tmp_path / "out.log")


def test_second_build_while_one_runs_is_refused(user):
    app = app_create(user=user, name="busy")
    first = build_create(app=app, user=user, source_sha="a" * 40)
    with pytest.raises(Conflict, match="another build of busy is running"):
        build_create(app=app, user=user, source_sha="b" * 40)
    Build.objects.filter(pk=first.pk).update(status=Build.Status.SUCCEEDED)
    assert build_create(app=app, user=user, source_sha="b" * 40).status == "pending"


def test_a_build_whose_worker_died_long_ago_does_not_block(user, settings):
    app = app_create(user=user, name="stuck")
    stale = build_create(app=app, user=user, source_sha="a" * 40)
    settings.PIER_BUILD_TIMEOUT = -200  # every running build counts as long dead
    build_create(app=app, user=user, source_sha="b" * 40)
    stale.refresh_from_db()
    assert stale.status == "failed"
