"""One contract, every backend: the in-memory fake and Docker must behave alike."""

from __future__ import annotations

import time

import pytest
from rt_helpers import make_app

from runtime.backends.docker import Backend as DockerBackend
from runtime.backends.memory import Backend as MemoryBackend
from runtime.errors import BackendUnavailable, StartFailed


@pytest.fixture(params=["memory", pytest.param("docker", marks=pytest.mark.docker)])
def any_backend(request):
    if request.param == "memory":
        return MemoryBackend()
    return request.getfixturevalue("backend")


def wait_healthy(backend, status, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if backend.is_healthy(status):
            return True
        time.sleep(0.1)
    return False


def test_started_process_is_listed_with_its_labels(any_backend):
    app = make_app("rt-contract", release=4)
    any_backend.ensure_network()
    started = any_backend.start_process(app, app.spec("web"), 2, restarts=3)
    [listed] = any_backend.list_processes("rt-contract")
    assert (listed.app, listed.type, listed.index, listed.release) == ("rt-contract", "web", 2, 4)
    assert listed.container_id == started.container_id
    assert listed.restarts == 3 and listed.state == "up"
    assert listed.name == "web.2"
    assert any_backend.list_processes("rt-other") == []
    assert wait_healthy(any_backend, listed)


def test_duplicates_are_refused(any_backend):
    app = make_app("rt-contract")
    any_backend.ensure_network()
    any_backend.start_process(app, app.spec("web"), 1)
    with pytest.raises(StartFailed):
        any_backend.start_process(app, app.spec("web"), 1)
    assert len(any_backend.list_processes("rt-contract")) == 1


def test_stopped_processes_are_forgotten(any_backend):
    app = make_app("rt-contract")
    any_backend.ensure_network()
    status = any_backend.start_process(app, app.spec("web"), 1)
    any_backend.stop_process(status, grace=1)
    assert any_backend.list_processes("rt-contract") == []
    any_backend.stop_process(status, grace=1)  # safe to repeat
    any_backend.remove(status)


def test_oneoff_returns_its_status_and_is_not_listed(any_backend):
    any_backend.ensure_network()
    output = []
    status = any_backend.run_oneoff(make_app("rt-contract"), "true", output=output.append)
    assert status == 0
    assert any_backend.list_processes() == []


def test_unreachable_docker_daemon_is_backend_unavailable(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")
    with pytest.raises(BackendUnavailable):
        DockerBackend().list_processes()
