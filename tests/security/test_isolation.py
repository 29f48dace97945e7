"""Isolation fails closed: when iptables cannot keep apps away from the host, no app runs.

iptables is made to fail for real: a PATH whose first `iptables` is a script exiting 1.
The runtime command, with a real Docker backend, must exit with an error saying what to
fix and start nothing; PIER_UNSAFE_NO_ISOLATION=1 runs apps anyway and says so loudly.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import uuid

import docker
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from runtime.errors import IsolationError
from runtime.isolation import block_host_access
from runtime.reconciler import Reconciler
from runtime.router.memory import Router as MemoryRouter
from tests.integration.runtime.rt_helpers import busybox_image, make_app

pytestmark = pytest.mark.docker


@pytest.fixture
def broken_iptables(tmp_path, monkeypatch):
    """Put an `iptables` that always fails first on PATH; return the file it logs calls to."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "iptables-calls"
    script = bin_dir / "iptables"
    script.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n'
                      'echo "iptables: Permission denied (you must be root)." >&2\nexit 1\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return calls


@pytest.fixture
def platform_label(settings):
    """A platform id of this test's own: its containers carry it and are removed after."""
    settings.PIER_PLATFORM_ID = f"secf-{uuid.uuid4().hex[:8]}"
    busybox_image(docker.from_env())
    yield settings.PIER_PLATFORM_ID
    for container in containers_of(settings.PIER_PLATFORM_ID):
        container.remove(force=True)


def containers_of(label: str) -> list:
    return docker.from_env().containers.list(all=True, filters={"label": f"pier.platform={label}"})


def test_block_host_access_raises_when_iptables_refuses(broken_iptables):
    with pytest.raises(IsolationError, match="PIER_UNSAFE_NO_ISOLATION=1") as caught:
        block_host_access("pier-secf0")
    assert "Permission denied" in str(caught.value)
    assert "-I INPUT -i pier-secf0" in broken_iptables.read_text()


def test_runtime_exits_and_starts_nothing_when_it_cannot_isolate(
    transactional_db, user, api, deployed, settings, tmp_path, redis_client, broken_iptables,
    platform_label, caplog,
):
    from api.models import Build

    settings.PIER_DATA_DIR = tmp_path / "data"
    app = api.post("/api/apps", {"name": "secf-iso"}, format="json").json()["name"]
    deployed(app, {"web": "exec sleep 600"})
    Build.objects.filter(app__name=app).update(image=busybox_image(docker.from_env()))

    # Without the fix the runtime would loop forever: end it after a while so the test
    # fails (no error raised, a container started) instead of hanging.
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    watchdog = threading.Timer(30, os.kill, [os.getpid(), signal.SIGTERM])
    watchdog.start()
    try:
        with pytest.raises(CommandError, match="cannot isolate apps") as caught:
            call_command("runtime")
    finally:
        watchdog.cancel()
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    assert "iptables" in str(caught.value) and "PIER_UNSAFE_NO_ISOLATION=1" in str(caught.value)
    assert any(r.levelno == logging.CRITICAL and "no app will run" in r.getMessage()
               for r in caplog.records)
    assert containers_of(platform_label) == []


def test_unsafe_flag_runs_apps_and_says_so_loudly(
    settings, broken_iptables, platform_label, caplog
):
    from pier.runtime_config import runtime_backend

    settings.PIER_UNSAFE_NO_ISOLATION = True
    reconciler = Reconciler(runtime_backend(), MemoryRouter())
    with caplog.at_level(logging.WARNING, logger="runtime.backends.docker"):
        reconciler.reconcile([make_app("secf-unsafe", command="exec sleep 600")])
    assert [c.labels["pier.app"] for c in containers_of(platform_label)] == ["secf-unsafe"]
    assert any("UNSAFE" in r.getMessage() and "PIER_UNSAFE_NO_ISOLATION" in r.getMessage()
               for r in caplog.records)
    assert not broken_iptables.exists()  # the rule was not even tried
