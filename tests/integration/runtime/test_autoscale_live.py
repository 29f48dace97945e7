"""Autoscaling a slow app behind the real router on real Docker, with shortened windows."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
import redis
from rt_helpers import CGI_APP, IMAGE, converge

from runtime import applog
from runtime.logship import AccessLogTail, StreamWriter
from runtime.metrics import Collector, MetricsStore

pytestmark = pytest.mark.docker
WINDOW = 20  # seconds, for both directions (60 s up and 300 s down in production)


class Running:
    """Call ``step`` every ``every`` seconds in a thread until stopped."""

    def __init__(self, step, every: float) -> None:
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(step, every), daemon=True)
        self.thread.start()

    def _run(self, step, every):
        while not self.stop.wait(every):
            step()

    def end(self):
        self.stop.set()
        self.thread.join(15)


def _until(condition, what: str, limit: float, tick) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        tick()
        time.sleep(1)


def test_a_slow_app_scales_up_under_load_then_down_after_it(
        transactional_db, make_user, redis_client, redis_url, reconciler, backend, live_router):
    from api.desired import desired_state
    from api.models import Build, Formation
    from api.selectors import config_current
    from api.services.apps import app_create
    from api.services.autoscale import autoscale_enable, autoscale_tick
    from api.services.releases import release_create

    _, port, access_log = live_router
    user = make_user()
    app = app_create(user=user, name="rt-autoscale")
    build = Build.objects.create(app=app, status="succeeded", image=IMAGE,
                                 process_types={"web": CGI_APP})
    release_create(app=app, build=build, config=config_current(app=app), description="Deploy",
                   user=user)
    converge(reconciler, desired_state())

    client = redis.Redis.from_url(redis_url)
    store = MetricsStore(client)
    collector = Collector(store, backend.running_processes)
    tail = AccessLogTail(access_log, StreamWriter(client), client, observe=collector.observe)
    tail.poll_once()  # start at the end of the shared access log
    collecting = Running(lambda: (tail.poll_once(), collector.flush()), 0.5)

    def slow_requests():
        with httpx.Client(timeout=10) as http:
            http.get(f"http://127.0.0.1:{port}/cgi-bin/slow",
                     headers={"Host": "rt-autoscale.localhost"})

    autoscale_enable(app=app, ptype="web", minimum=1, maximum=2, p95_ms=100, user=user)

    def web() -> Formation:
        return Formation.objects.get(app=app, type="web")

    def tick():
        autoscale_tick(store=store, up_window=WINDOW, down_window=WINDOW)
        reconciler.reconcile(desired_state())

    load = Running(slow_requests, 0.05)
    try:
        _until(lambda: web().quantity == 2, "a second web process", 120, tick)
        converge(reconciler, desired_state())
        assert len([p for p in backend.list_processes(str(app.id)) if p.state == "up"]) == 2
    finally:
        load.end()
    _until(lambda: web().quantity == 1, "back to one web process", 120, tick)
    collecting.end()
    converge(reconciler, desired_state())  # the stop of web.2 has ended: nothing in flight
    assert web().autoscaling  # the autoscaler's own changes leave it on

    lines = [applog.text(fields[b"line"])
             for _, fields in client.xrange(applog.stream_key(str(app.id)))]
    up = next(line for line in lines if "autoscaled up from 1" in line)
    assert "above the 100 ms target" in up and up.startswith("Scale to web=2")
    assert any("autoscaled down from 2" in line for line in lines)
    changes = [(e.quantity_from, e.quantity_to) for e in app.autoscale_events.order_by("pk")]
    assert changes == [(1, 2), (2, 1)]  # the Activity tab's list
