"""One contract, every backend: the in-memory fake and Docker must behave alike.

Each test runs against every backend :func:`runtime.backends.available_backends` lists.
"""

from __future__ import annotations

import contextlib
import socket
import time
import uuid

import pytest
from conftest import remove_labelled
from rt_helpers import make_app

from runtime import applog
from runtime.backends import available_backends
from runtime.backends.docker import Backend as DockerBackend
from runtime.backends.memory import Backend as MemoryBackend
from runtime.errors import BackendUnavailable, StartFailed
from runtime.leases import Leases, lease_key

KINDS = {"runtime.backends.memory.Backend": "memory", "runtime.backends.docker.Backend": "docker",
         "runtime.backends.swarm.Backend": "swarm"}
MARKS = {"docker": [pytest.mark.docker], "swarm": [pytest.mark.swarm]}
BACKENDS = [pytest.param(kind, marks=MARKS.get(kind, [])) for kind in KINDS.values()]
LEASE_TTL = 0.5


def test_every_shipped_backend_is_under_contract():
    assert sorted(available_backends()) == sorted(KINDS)


@pytest.fixture(params=BACKENDS)
def any_backend(request):
    if request.param == "memory":
        return MemoryBackend()
    if request.param == "swarm":
        return request.getfixturevalue("swarm_backend")
    return request.getfixturevalue("backend")


@pytest.fixture(params=BACKENDS)
def leased_backend(request, redis_client):
    """A backend whose one-offs are leased in a real Redis."""
    leases = Leases(redis_client, ttl=LEASE_TTL)
    if request.param == "memory":
        yield MemoryBackend(leases=leases)
        return
    if request.param == "swarm":
        backend = request.getfixturevalue("swarm_backend")
        backend.leases = leases
        yield backend
        return
    docker_client = request.getfixturevalue("docker_client")
    request.getfixturevalue("test_image")
    label = f"rt-lease-{uuid.uuid4().hex[:8]}"
    yield DockerBackend(client=docker_client, labels={"pier.test": label},
                        name_prefix=f"{label}-", leases=leases)
    remove_labelled(docker_client, label)


@pytest.fixture
def talking(any_backend):
    """Start web.1 of an app printing ``text`` once, as each backend's processes print."""

    def start(app_id: str, text: str):
        if isinstance(any_backend, MemoryBackend):
            app = make_app(app_id)
            status = any_backend.start_process(app, app.spec("web"), 1)
            any_backend.say(app_id, "web.1", text)
            return status
        app = make_app(app_id, command=f"echo {text}; exec sleep 600")
        return any_backend.start_process(app, app.spec("web"), 1)

    return start


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


def test_running_processes_are_listed_for_metrics(any_backend):
    app = make_app("rt-contract", release=2)
    any_backend.ensure_network()
    up = any_backend.start_process(app, app.spec("web"), 1)
    gone = any_backend.start_process(app, app.spec("web"), 2)
    any_backend.stop_process(gone, grace=1)
    [running] = [p for p in any_backend.running_processes() if p.app == "rt-contract"]
    assert (running.name, running.release, running.container_id) == ("web.1", 2, up.container_id)


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


def read_until(sock: socket.socket, wanted: bytes, timeout: float = 15.0) -> bytes:
    sock.settimeout(timeout)
    seen = b""
    while wanted not in seen:
        data = sock.recv(4096)
        if not data:
            break
        seen += data
    return seen


def test_attached_oneoff_answers_on_its_terminal_until_stopped(any_backend):
    app = make_app("rt-contract")
    any_backend.ensure_network()
    attached = any_backend.attach_oneoff(app, "cat", rows=30, cols=100, dyno="run.7")
    try:
        assert attached.dyno == "run.7"
        attached.resize(40, 120)
        attached.socket.sendall(b"hello-terminal\n")
        assert b"hello-terminal" in read_until(attached.socket, b"hello-terminal")
        assert any_backend.list_processes() == []  # one-offs are not app processes
        any_backend.stop_oneoff(app.id, "run.7")
        assert attached.wait() != 0
    finally:
        attached.remove()
    attached.remove()  # safe to repeat


class _Unrenewed(contextlib.nullcontext):
    def release(self) -> None:
        pass


class _Lapsing(Leases):
    """Leases of an owner that dies as soon as its one-off started: set once, never renewed."""

    def hold(self, name: str):
        self.client.set(lease_key(name), "1", px=int(self.ttl * 1000))
        return _Unrenewed()


def test_oneoff_whose_owner_is_gone_is_reaped_and_a_live_one_is_kept(leased_backend):
    app = make_app("rt-contract")
    leased_backend.ensure_network()
    owned = leased_backend.leases
    leased_backend.leases = _Lapsing(owned.client, ttl=LEASE_TTL)
    orphan = leased_backend.attach_oneoff(app, "exec sleep 600", dyno="run.2")
    leased_backend.leases = owned
    live = leased_backend.attach_oneoff(app, "exec sleep 600", dyno="run.3")
    try:
        reaped: list[str] = []
        for _ in range(100):  # until the dead owner's lease lapses
            reaped += leased_backend.reap_orphans(build_ended=lambda build_id: False)
            if reaped:
                break
            time.sleep(LEASE_TTL / 4)
        assert len(reaped) == 1 and reaped[0].endswith("rt-contract-v1-run.2")
        time.sleep(LEASE_TTL * 2)  # the live owner renews its lease meanwhile
        assert leased_backend.reap_orphans(build_ended=lambda build_id: False) == []
    finally:
        live.remove()
        orphan.remove()


def test_process_output_reaches_its_app_stream_as_app_lines(any_backend, talking,
                                                           redis_client):
    app_id = f"rt-out-{uuid.uuid4().hex[:8]}"
    any_backend.ensure_network()
    shipper = any_backend.output_shipper(redis_client)
    shipper.start()
    try:
        status = talking(app_id, "hello-from-web")
        lines = []
        for _ in range(300):
            entries = redis_client.xrange(applog.stream_key(app_id))
            lines = [applog.LogLine.from_entry(*entry) for entry in entries]
            if lines:
                break
            time.sleep(0.1)
        assert [(ln.source, ln.dyno, ln.message) for ln in lines] == [
            ("app", "web.1", "hello-from-web")]
        assert lines[0].timestamp.endswith("+00:00")
        assert shipper.dyno_for(status.address) == "web.1"
    finally:
        shipper.stop()
        redis_client.delete(applog.stream_key(app_id))
