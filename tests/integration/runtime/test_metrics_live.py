"""Metrics from real containers behind the real router: a known load, memory, an OOM kill."""

from __future__ import annotations

import time

import httpx
import pytest
import redis
from rt_helpers import CGI_APP, IMAGE, converge, make_app

from runtime.desired import DesiredApp, HealthCheck, ProcessSpec
from runtime.logship import AccessLogTail, StreamWriter
from runtime.metrics import Collector, MetricsStore, percentile
from runtime.metrics.buckets import merge, new

pytestmark = pytest.mark.docker

@pytest.fixture
def store(redis_url):
    client = redis.Redis.from_url(redis_url)
    yield MetricsStore(client)
    client.close()


@pytest.fixture
def collector(store, backend):
    return Collector(store, backend.running_processes, interval=1.0)


def _total(store, app: str) -> dict:
    now = time.time()
    _, rows = store.read(app, start=now - 600, end=now + 10)
    total = new(0)
    for row in rows:
        merge(total, row)
    return total


def test_a_known_load_gives_counts_classes_and_percentiles(
        reconciler, live_router, store, collector, redis_url):
    _, port, access_log = live_router
    client = redis.Redis.from_url(redis_url)
    tail = AccessLogTail(access_log, StreamWriter(client), client, observe=collector.observe)
    tail.poll_once()  # from the end of the file: earlier tests' requests are not ours
    converge(reconciler, [make_app("rt-metrics", command=CGI_APP)])
    paths = ["/"] * 60 + ["/cgi-bin/fail"] * 20 + ["/cgi-bin/slow"] * 20 + ["/nope"] * 10
    with httpx.Client(base_url=f"http://127.0.0.1:{port}",
                      headers={"Host": "rt-metrics.localhost"}, timeout=10) as http:
        statuses = [http.get(path).status_code for path in paths]
    assert statuses.count(500) == 20 and statuses.count(404) == 10, statuses
    deadline = time.monotonic() + 10
    while tail.poll_once() or time.monotonic() < deadline:
        collector.flush()
        if _total(store, "rt-metrics")["n"] >= len(paths):
            break
        time.sleep(0.2)
    total = _total(store, "rt-metrics")
    assert total["n"] == 110
    assert total["s"] == {"2": 80, "4": 10, "5": 20}
    assert percentile(total["h"], 0.5) < 100  # most answers are a static file
    assert 250 <= percentile(total["h"], 0.95) <= 500  # the slowest 18% take ~0.3 s
    assert store.last_request("rt-metrics") == pytest.approx(time.time(), abs=60)


def test_a_process_allocating_memory_shows_it(reconciler, store, collector):
    # About 40 MB of numbers kept in a shell variable, under a 128 MB limit. The shell has a
    # command left after the sleep, so it waits instead of exec-ing sleep as its last command
    # (which would free the variable): the memory stays held, not just while seq runs.
    hog = ProcessSpec("worker", 1, "x=$(busybox seq 1 5000000); sleep 1000; echo ${#x}",
                      memory_mb=128, max_processes=64)
    app = DesiredApp(name="rt-memory", release=1, image=IMAGE, formation=(hog,),
                     healthcheck=HealthCheck(boot_timeout=20), stop_grace=1.0)
    converge(reconciler, [app])
    deadline = time.monotonic() + 60
    while True:
        collector.sample()
        collector.flush()
        process = _total(store, "rt-memory")["p"].get("worker.1")
        if process and process["mem"] > 30 * 2**20:
            break
        assert time.monotonic() < deadline, f"memory never showed: {process}"
        time.sleep(1)
    assert process["lim"] == 128 * 2**20
    assert process["cpu"] > 0 and process["sec"] > 0


def test_an_oom_killed_process_is_counted(backend, router, store, collector):
    from runtime.reconciler import Reconciler

    reconciler = Reconciler(backend, router, events=collector.event, domain="localhost")
    # Far more than its 64 MB, fast: the kernel kills it, and the reconciler restarts it.
    hog = ProcessSpec("worker", 1, "x=$(busybox yes 0123456789abcdef | busybox head -c 300000000)"
                      "; sleep 1000",
                      memory_mb=64, max_processes=64)
    app = DesiredApp(name="rt-oom", release=1, image=IMAGE, formation=(hog,),
                     healthcheck=HealthCheck(boot_timeout=20), stop_grace=1.0)
    deadline = time.monotonic() + 180  # a loaded machine is slow to fill 64 MB
    while True:
        reconciler.reconcile([app])
        collector.flush()
        total = _total(store, "rt-oom")
        if total["o"] >= 1 and total["r"] >= 1:
            break
        assert time.monotonic() < deadline, f"no OOM kill counted: {total}"
        time.sleep(0.5)
