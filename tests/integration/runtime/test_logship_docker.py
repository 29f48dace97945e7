"""Log shipping against a real Docker Engine, a real Redis and the real router."""

from __future__ import annotations

import contextlib
import time
import uuid

import docker
import httpx
import pytest
from rt_helpers import converge, make_app

from runtime import applog
from runtime.logship import SINCE_KEY, AccessLogTail, Shipper
from tests.helpers import wait_for

pytestmark = pytest.mark.docker



def lines_of(client, app):
    return [applog.LogLine.from_entry(i, f) for i, f in client.xrange(applog.stream_key(app))]


@pytest.fixture
def app(redis_client):
    name = f"ls{uuid.uuid4().hex[:8]}"
    yield name
    redis_client.delete(applog.stream_key(name))


@pytest.fixture
def run(docker_client, test_image, session_label, app):
    """Start a labelled app container running a shell script; yield the starter."""
    started = []

    def start(script, process="web", index=1):
        container = docker_client.containers.run(
            test_image,
            ["sh", "-c", script],
            detach=True,
            labels={
                "pier.app": app,
                "pier.process": process,
                "pier.index": str(index),
                "pier.release": "1",
                "pier.test": session_label,
            },
        )
        started.append(container)
        return container

    yield start
    for container in started:
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)


@pytest.fixture
def shipper(docker_client, redis_client, session_label):
    shippers = []

    def make():
        shipper = Shipper(
            docker_client, redis_client, labels={"pier.test": session_label}, rescan=1.0
        )
        shipper.start()
        shippers.append(shipper)
        return shipper

    yield make
    for shipper in shippers:
        shipper.stop()


def test_container_lines_arrive_in_order_with_their_dyno(redis_client, app, run, shipper):
    shipper()
    run(
        "i=1; while [ $i -le 300 ]; do echo out $i; echo err $i >&2; i=$((i+1)); done; sleep 60",
        process="worker",
        index=2,
    )
    found = wait_for(
        lambda: len(lines := lines_of(redis_client, app)) >= 600 and lines, what="600 lines"
    )
    assert {(line.source, line.dyno) for line in found} == {("app", "worker.2")}
    assert [line.message for line in found if line.message.startswith("out")] == [
        f"out {i}" for i in range(1, 301)
    ]
    assert [line.message for line in found if line.message.startswith("err")] == [
        f"err {i}" for i in range(1, 301)
    ]
    assert all(line.timestamp.endswith("+00:00") and len(line.timestamp) == 32 for line in found)


def test_a_ten_megabyte_line_and_bad_bytes_are_split_and_replaced_not_lost(
    redis_client, app, run, shipper
):
    shipper()
    # 10 * 2**20 characters on one line, then bytes that are not UTF-8.
    run(
        "s=xxxxxxxxxx; for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do "
        "s=$s$s; done; "
        "echo \"$s\"; /bin/busybox printf 'bin\\377\\376ary\\n'; echo done; sleep 60"
    )
    found = wait_for(
        lambda: (lines := lines_of(redis_client, app)) and lines[-1].message == "done" and lines,
        what="the last line",
    )
    pieces = found[:-2]
    assert len(pieces) == 1049  # 10,485,760 characters in pieces of 10,000
    assert all(len(p.message) == applog.MAX_LINE_CHARS for p in pieces[:-1])
    assert "".join(p.message for p in pieces) == "x" * (10 * 2**20)
    assert len({p.timestamp for p in pieces}) == 1
    assert found[-2].message == "bin\ufffd\ufffdary"


def test_a_restarted_shipper_does_not_ship_old_lines_again(
    redis_client, docker_client, app, run, shipper
):
    first = shipper()
    container = run("echo one; echo two; sleep 2; echo three; echo four; sleep 60")
    wait_for(lambda: len(lines_of(redis_client, app)) >= 2, what="the first lines")
    first.stop()
    assert redis_client.hget(SINCE_KEY, container.id)
    shipper()
    wait_for(lambda: len(lines_of(redis_client, app)) >= 4, what="the later lines")
    time.sleep(1.5)  # a rescan or two later: still no repeats
    assert [line.message for line in lines_of(redis_client, app)] == ["one", "two", "three", "four"]


def test_containers_that_ran_while_the_shipper_was_down_are_shipped(
    redis_client, app, run, shipper
):
    container = run("echo early; echo bird")
    container.wait(timeout=30)
    shipper()
    wait_for(
        lambda: [line.message for line in lines_of(redis_client, app)] == ["early", "bird"],
        what="a stopped container's lines",
    )


def test_router_lines_from_a_real_router(redis_client, reconciler, live_router, shipper):
    name = f"rt{uuid.uuid4().hex[:6]}"
    _, port, access_log = live_router
    ship = shipper()
    tail = AccessLogTail(access_log, ship.writer, redis_client, dyno_for=ship.dyno_for)
    try:
        tail.poll_once()  # start at the end of what the session's router already wrote
        converge(reconciler, [make_app(name)])
        with httpx.Client(trust_env=False, timeout=10) as http:
            response = http.get(
                f"http://127.0.0.1:{port}/index.html?x=1", headers={"Host": f"{name}.localhost"}
            )
        assert response.status_code == 200

        def router_lines():
            tail.poll_once()
            return [line for line in lines_of(redis_client, name) if line.source == "router"]

        (line,) = wait_for(router_lines, what="the router line")
        request_id = response.headers.get("X-Request-Id") or ""
        assert line.dyno == "router"
        assert line.message.startswith(
            f'at=info method=GET path="/index.html?x=1" host={name}.localhost request_id='
        )
        assert request_id in line.message or "request_id=" in line.message
        assert " status=200 bytes=" in line.message and 'fwd="127.0.0.1"' in line.message
    finally:
        converge(reconciler, [])
        redis_client.delete(applog.stream_key(name))
        redis_client.hdel(SINCE_KEY, f"router:{access_log}")
