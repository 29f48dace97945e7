"""One-offs and the release phase are untrusted code, confined like app processes.

Real Docker: a `pier run` of a fork-happy command meets a process limit, and holds no
capabilities, so neither can take the host's process table or use a root power.
"""

from __future__ import annotations

import uuid

import docker
import pytest

from runtime.backends.docker import ONEOFF_MAX_PROCESSES, Backend
from tests.integration.runtime.rt_helpers import busybox_image, make_app

pytestmark = pytest.mark.docker


@pytest.fixture
def backend():
    label = f"oneoff-{uuid.uuid4().hex[:8]}"
    client = docker.from_env()
    busybox_image(client)
    yield Backend(labels={"pier.platform": label}, name_prefix=f"{label}-", isolate_host=False)
    for container in client.containers.list(all=True, filters={"label": f"pier.platform={label}"}):
        container.remove(force=True)


def run(backend, command: str) -> tuple[int, str]:
    chunks: list[bytes] = []
    code = backend.run_oneoff(make_app("oneoff-conf"), command, output=chunks.append,
                              memory_mb=64, timeout=60, dyno="run.1")
    return code, b"".join(chunks).decode()


def test_a_oneoff_holds_no_capabilities_and_no_new_privileges(backend):
    code, status = run(backend, "cat /proc/self/status")
    assert code == 0
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    assert fields["CapEff"].strip() == fields["CapPrm"].strip() == "0000000000000000"
    assert fields["CapBnd"].strip() == "0000000000000000"
    assert fields["NoNewPrivs"].strip() == "1"


def test_a_oneoff_meets_a_process_limit(backend):
    # Twice the limit of sleepers: the shell cannot fork past it (without a limit, all start
    # and it prints "all started").
    code, out = run(backend, f"n=0; while [ $n -lt {2 * ONEOFF_MAX_PROCESSES} ]; do "
                             "sleep 30 & n=$((n+1)); done; echo all started")
    assert code != 0
    assert "can't fork" in out and "all started" not in out
