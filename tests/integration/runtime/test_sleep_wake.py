"""Apps that sleep and wake, with real containers behind the real HAProxy router.

The runtime's loop runs in a thread as in ``manage.py runtime``: nudged through Redis,
its router wrapped so that sleeping apps go to the waker, the router's access log tailed
for the last request of each app. Sleep windows are seconds here (``sleep_after`` of the
desired app).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import redis
from rt_helpers import make_app

from runtime.logship import AccessLogTail
from runtime.logship.writer import StreamWriter
from runtime.loop import nudge, run_forever
from runtime.sleep import Sleeper, WakingRouter
from runtime.waker import Waker
from tests.helpers import wait_for

pytestmark = pytest.mark.docker


class Runtime:
    """The loop, the sleeper and the waker, running until the test ends."""

    def __init__(self, reconciler, router, redis_url, access_log, desired):
        self.desired, self.events = desired, []
        self.sleeper = Sleeper(nudge=lambda: nudge(redis_url), events=self.events.append)
        self.waker = Waker(self.sleeper, max_hold=15.0)
        reconciler.router = WakingRouter(router, self.sleeper, self.waker.start())
        self.stop = threading.Event()
        client = redis.Redis.from_url(redis_url)
        writer = StreamWriter(client)
        tail = AccessLogTail(access_log, writer, client, on_requests=self.sleeper.requests_seen,
                             poll=0.1)
        self.threads = [
            threading.Thread(target=run_forever, daemon=True, kwargs=dict(
                source=lambda: self.sleeper.prepare(self.desired), reconciler=reconciler,
                interval=0.5, redis_url=redis_url, stop=self.stop)),
            threading.Thread(target=writer.run, args=(self.stop,), daemon=True),
            threading.Thread(target=tail.run, args=(self.stop,), daemon=True),
        ]
        for thread in self.threads:
            thread.start()

    def close(self):
        self.stop.set()
        for thread in self.threads:
            thread.join(10)
        self.waker.stop()

    def messages(self):
        return [e.message for e in self.events]


@pytest.fixture
def runtime_for(reconciler, router, redis_url, live_router):
    started = []

    def start(desired):
        started.append(Runtime(reconciler, router, redis_url, live_router[2], desired))
        return started[-1]

    yield start
    for runtime in started:
        runtime.close()


def get(port, host, timeout=30):
    with httpx.Client(timeout=timeout) as client:
        return client.get(f"http://127.0.0.1:{port}/", headers={"Host": host})


def web_up(backend, app):
    return [p for p in backend.list_processes(app) if p.type == "web" and p.state == "up"]


def sleepy(name, **kw):
    return make_app(name, sleep_after=3.0, **kw)


def asleep(runtime, backend, app):
    wait_for(lambda: runtime.sleeper.sleeping(app) and not backend.list_processes(app), 30,
             f"{app} to fall asleep")


def test_idle_app_sleeps_and_its_next_request_wakes_it(runtime_for, backend, live_router,
                                                        events):
    _, port, _ = live_router
    runtime = runtime_for([sleepy("rt-nap")])
    wait_for(lambda: get(port, "rt-nap.localhost").status_code == 200, 30, "web.1 serving")
    for _ in range(5):  # requests for longer than the window keep it awake
        time.sleep(1)
        assert get(port, "rt-nap.localhost").status_code == 200
    assert not runtime.sleeper.sleeping("rt-nap")
    asleep(runtime, backend, "rt-nap")
    assert any(m.startswith("Sleeping: no requests for 3s") for m in runtime.messages())
    assert not any(e.kind == "crashed" for e in events)  # web=0 on purpose, not a crash

    response = get(port, "rt-nap.localhost")
    assert response.status_code == 200 and response.text == "release 1\n"
    assert web_up(backend, "rt-nap")
    assert "Waking: a request arrived while asleep" in runtime.messages()
    assert get(port, "rt-nap.localhost").status_code == 200  # straight to the process now
    assert not any(e.kind == "crashed" for e in events)


def test_twenty_concurrent_requests_to_a_sleeping_app_are_all_answered(
        runtime_for, backend, live_router):
    _, port, _ = live_router
    runtime = runtime_for([sleepy("rt-crowd")])
    wait_for(lambda: web_up(backend, "rt-crowd"), 30, "web.1 up")
    asleep(runtime, backend, "rt-crowd")
    with ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(lambda _: get(port, "rt-crowd.localhost"), range(20)))
    assert [r.status_code for r in responses] == [200] * 20
    assert {r.text for r in responses} == {"release 1\n"}
    assert len(web_up(backend, "rt-crowd")) == 1


def test_an_app_that_cannot_wake_gets_a_clear_503(runtime_for, backend, live_router):
    _, port, _ = live_router
    runtime = runtime_for([sleepy("rt-insomniac")])
    wait_for(lambda: web_up(backend, "rt-insomniac"), 30, "web.1 up")
    asleep(runtime, backend, "rt-insomniac")
    # Asleep, its web command now exits at once (a deploy would wake it, so the same
    # release changes, as a vanished dependency would break it).
    runtime.desired = [sleepy("rt-insomniac", command="exit 3", boot_timeout=3.0)]
    wait_for(lambda: runtime.sleeper.app_for_host("rt-insomniac.localhost").healthcheck
             .boot_timeout == 3.0, 10, "the runtime to read the change")
    response = get(port, "rt-insomniac.localhost")
    assert response.status_code == 503
    assert "rt-insomniac was asleep and its web process did not start within 3s" in response.text


def test_each_sleeping_app_gets_only_its_own_requests(runtime_for, backend, live_router):
    """The waker is one address for every sleeping app: the Host header picks the app, as
    the router's does, so a request never reaches another user's app."""
    _, port, _ = live_router
    runtime = runtime_for([sleepy("rt-nap-one"), sleepy("rt-nap-two", release=2)])
    for app in ("rt-nap-one", "rt-nap-two"):
        wait_for(lambda app=app: web_up(backend, app), 30, f"{app} up")
    for app in ("rt-nap-one", "rt-nap-two"):
        asleep(runtime, backend, app)
    hosts = ["rt-nap-one.localhost", "RT-NAP-TWO.localhost:8080"] * 5
    with ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(lambda host: get(port, host), hosts))
    assert [r.text for r in responses] == ["release 1\n", "release 2\n"] * 5
