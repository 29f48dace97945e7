"""Containers whose owner died are reaped; one a live process still uses is never touched.

Real Docker and a real Redis: the owner of the orphan one-off is a real child process
killed with SIGKILL, so its lease lapses as it would when a web process crashes.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import docker
import pytest
import redis

from api.models import App, Build
from pier.management.commands.runtime import ReportingReconciler
from runtime.backends.docker import Backend
from runtime.leases import Leases
from runtime.reconciler import Reconciler
from runtime.router.memory import Router as MemoryRouter
from tests.integration.runtime.rt_helpers import busybox_image, make_app

pytestmark = pytest.mark.docker
ROOT = Path(__file__).resolve().parents[2]
TTL = 1.0

OWNER = textwrap.dedent("""
    import sys, time, redis
    from runtime.backends.docker import Backend
    from runtime.leases import Leases
    from tests.integration.runtime.rt_helpers import make_app
    url, label, ttl = sys.argv[1], sys.argv[2], float(sys.argv[3])
    backend = Backend(labels={"pier.platform": label}, name_prefix=f"{label}-",
                      leases=Leases(redis.Redis.from_url(url), ttl=ttl))
    attached = backend.attach_oneoff(make_app("secf-orphan"), "exec sleep 600", dyno="run.1")
    print("started", flush=True)
    time.sleep(600)
""")


@pytest.fixture
def label():
    """A platform label of this test's own; its containers are removed afterwards."""
    value = f"secf-{uuid.uuid4().hex[:8]}"
    busybox_image(docker.from_env())
    yield value
    for container in labelled(value):
        container.remove(force=True)


def labelled(value: str, key: str = "pier.platform") -> list:
    return docker.from_env().containers.list(all=True, filters={"label": f"{key}={value}"})


@pytest.fixture
def backend(label, redis_url):
    backend = Backend(labels={"pier.platform": label}, name_prefix=f"{label}-",
                      leases=Leases(redis.Redis.from_url(redis_url), ttl=TTL))
    backend.ensure_network()
    return backend


def test_oneoff_of_a_dead_process_is_reaped_and_a_live_one_is_kept(backend, label, redis_url):
    owner = subprocess.Popen([sys.executable, "-c", OWNER, redis_url, label, str(TTL)],
                             cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout.readline().strip() == "started"
    finally:
        owner.kill()  # the web process that ran `pier run` crashes
        owner.wait()
    live = backend.attach_oneoff(make_app("secf-orphan"), "exec sleep 600", dyno="run.2")
    try:
        names = {c.labels["pier.oneoff"] for c in labelled(label)}
        assert names == {"run.1", "run.2"}
        reaped: list[str] = []
        for _ in range(100):  # until the dead owner's lease lapses (a few TTLs)
            reaped += backend.reap_orphans(build_ended=lambda build_id: False)
            if reaped:
                break
            time.sleep(TTL / 4)
        assert reaped == [f"{label}-secf-orphan-v1-run.1"]
        # The live one outlived several TTLs: its owner kept renewing its lease.
        assert backend.reap_orphans(build_ended=lambda build_id: False) == []
        assert [c.labels["pier.oneoff"] for c in labelled(label)] == ["run.2"]
    finally:
        live.remove()


def test_build_containers_of_ended_builds_are_reaped_by_the_runtime_pass(
    db, user, backend, label, redis_client
):
    app = App.objects.create(name="secf-builds", owner=user)
    ended = Build.objects.create(app=app, creator=user, source_sha="a" * 40,
                                 status=Build.Status.FAILED)
    running = Build.objects.create(app=app, creator=user, source_sha="b" * 40,
                                   status=Build.Status.BUILDING)
    client = docker.from_env()
    for build_id in (ended.id, running.id, uuid.uuid4()):  # the last: another platform's
        client.containers.run(busybox_image(client), "sleep 600", detach=True,
                              labels={"pier.app": app.name, "pier.build": str(build_id),
                                      "pier.role": "build", "secf.test": label})
    try:
        ReportingReconciler(Reconciler(backend, MemoryRouter()), backend).reconcile([])
        left = {c.labels["pier.build"] for c in labelled(label, key="secf.test")}
        assert str(ended.id) not in left
        assert str(running.id) in left and len(left) == 2
    finally:
        for container in labelled(label, key="secf.test"):
            container.remove(force=True)
