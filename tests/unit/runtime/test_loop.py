"""The supervising loop: errors end a pass, never the loop; a Redis nudge wakes it early."""

from __future__ import annotations

import threading
import time

import pytest

from runtime.desired import DesiredApp, ProcessSpec, desired_to_json
from runtime.errors import BackendUnavailable, Invalid
from runtime.loop import file_source, nudge, redis_event_sink, run_forever, run_once
from runtime.reconciler import Event, ReconcileResult
from tests.helpers import wait_for

APP = DesiredApp(name="myapp", release=1, image="img", formation=(ProcessSpec("web", 1),))


class FakeReconciler:
    def __init__(self, failures=()):
        self.failures = list(failures)
        self.passes: list[float] = []
        self.lost = 0

    def reconcile(self, desired):
        self.passes.append(time.monotonic())
        if self.failures:
            raise self.failures.pop(0)
        return ReconcileResult()

    def backend_lost(self):
        self.lost += 1


def run_in_thread(reconciler, **kwargs):
    stop = threading.Event()
    thread = threading.Thread(
        target=run_forever, args=(lambda: [APP], reconciler), kwargs={"stop": stop, **kwargs}
    )
    thread.start()
    return stop, thread



def test_an_unavailable_engine_is_retried():
    reconciler = FakeReconciler([BackendUnavailable("daemon down"), RuntimeError("boom")])
    stop, thread = run_in_thread(reconciler, interval=0.01, retry_interval=0.01)
    wait_for(lambda: len(reconciler.passes) >= 4, timeout=5, interval=0.01)
    stop.set()
    thread.join(5)
    assert not thread.is_alive()
    assert reconciler.lost == 1


def test_run_once_skips_a_pass_on_invalid_desired_state(tmp_path):
    source = file_source(tmp_path / "missing.json")
    with pytest.raises(Invalid):
        source()
    assert run_once(source, FakeReconciler()) is None


def test_file_source_reads_json(tmp_path):
    path = tmp_path / "desired.json"
    path.write_text(desired_to_json([APP]))
    assert file_source(path)() == [APP]


def test_a_nudge_wakes_the_loop_early(redis_url):
    reconciler = FakeReconciler()
    stop, thread = run_in_thread(reconciler, interval=60, redis_url=redis_url)
    try:
        wait_for(lambda: len(reconciler.passes) == 1, timeout=5, interval=0.01)
        time.sleep(0.3)  # let it subscribe
        nudge(redis_url)
        wait_for(lambda: len(reconciler.passes) == 2, timeout=5, interval=0.01)
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()


def test_without_redis_it_still_polls():
    reconciler = FakeReconciler()
    stop, thread = run_in_thread(reconciler, interval=0.01, redis_url="redis://127.0.0.1:1/0")
    wait_for(lambda: len(reconciler.passes) >= 3, timeout=5, interval=0.01)
    stop.set()
    thread.join(5)


def test_events_land_in_the_app_log_stream(redis_url):
    import redis

    from runtime import applog

    sink = redis_event_sink(redis_url)
    sink(Event(app="evapp", message="Process exited with status 3", process="web.1"))
    client = redis.Redis.from_url(redis_url)
    [(entry_id, fields)] = client.xrange(applog.stream_key("evapp"))
    line = applog.LogLine.from_entry(entry_id, fields)
    assert "pier[web.1]: Process exited with status 3" in line.format()
    client.delete(applog.stream_key("evapp"))
