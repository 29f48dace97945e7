"""The sleeper's decisions: pure logic, driven by an injected clock."""

import pytest

from runtime.desired import DesiredApp, ProcessSpec
from runtime.errors import Invalid
from runtime.router.base import Route
from runtime.sleep import SLEEPING_KEY, Sleeper, describe_after


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def app(release=1, sleep_after=60.0, web=2):
    return DesiredApp(name="napper", id="napper", release=release, image="img",
                      formation=(ProcessSpec("web", web), ProcessSpec("worker", 1)),
                      sleep_after=sleep_after)


def quantities(desired):
    return {s.type: s.quantity for s in desired[0].formation}


def test_idle_app_sleeps_web_only_and_a_request_keeps_it_awake():
    clock, events = Clock(), []
    sleeper = Sleeper(clock=clock, events=events.append)
    assert quantities(sleeper.prepare([app()])) == {"web": 2, "worker": 1}
    clock.now += 50
    sleeper.requests_seen({"napper"})
    clock.now += 50  # 100 s since it was first seen, 50 since its last request
    assert quantities(sleeper.prepare([app()])) == {"web": 2, "worker": 1}
    clock.now += 10
    assert quantities(sleeper.prepare([app()])) == {"web": 0, "worker": 1}
    assert sleeper.sleeping("napper")
    assert [e.message for e in events] == [
        "Sleeping: no requests for 1m; web processes stop (other process types keep running)"]


def test_wake_restores_the_formation_and_a_new_release_wakes_too():
    clock = Clock()
    nudges = []
    sleeper = Sleeper(clock=clock, nudge=lambda: nudges.append(1))
    sleeper.prepare([app()])
    clock.now += 61
    assert quantities(sleeper.prepare([app()]))["web"] == 0
    sleeper.wake("napper")
    assert nudges and not sleeper.sleeping("napper")
    sleeper.release("napper")
    assert quantities(sleeper.prepare([app()]))["web"] == 2
    clock.now += 61
    assert quantities(sleeper.prepare([app()]))["web"] == 0
    assert quantities(sleeper.prepare([app(release=2)]))["web"] == 2  # a deploy runs awake


def test_sleep_off_wakes_and_apps_without_sleep_are_untouched():
    clock = Clock()
    sleeper = Sleeper(clock=clock)
    sleeper.prepare([app()])
    clock.now += 61
    sleeper.prepare([app()])
    assert quantities(sleeper.prepare([app(sleep_after=0)]))["web"] == 2
    assert not sleeper.sleeping("napper")
    clock.now += 1e6
    assert quantities(sleeper.prepare([app(sleep_after=0)]))["web"] == 2


def test_routes_of_sleeping_apps_go_to_the_waker_until_a_process_is_routed():
    sleeper = Sleeper(clock=Clock())
    sleeper.prepare([app()])
    other = Route(app="other", hosts=("other.localhost",))
    routes = sleeper.routed([Route(app="napper", hosts=("napper.localhost",)), other],
                            "127.0.0.1:9")
    assert [r.upstreams for r in routes] == [("127.0.0.1:9",), ()]
    assert sleeper.app_for_host("NAPPER.localhost:8080").id == "napper"
    assert sleeper.upstreams("napper") == ()
    sleeper.routed([Route(app="napper", hosts=("napper.localhost",), upstreams=("10.0.0.2:5000",))],
                   "127.0.0.1:9")
    assert sleeper.upstreams("napper") == ("10.0.0.2:5000",)
    assert sleeper.app_for_host("other.localhost") is None


def test_durations_read_as_written():
    assert [describe_after(s) for s in (1800, 7200, 90, 86400)] == ["30m", "2h", "90s", "1d"]


def test_an_app_with_held_requests_does_not_fall_asleep():
    clock = Clock()
    sleeper = Sleeper(clock=clock)
    sleeper.prepare([app()])
    sleeper.wake("napper")
    clock.now += 61
    assert quantities(sleeper.prepare([app()]))["web"] == 2
    sleeper.release("napper")
    clock.now += 61
    assert quantities(sleeper.prepare([app()]))["web"] == 0


def test_a_negative_sleep_is_refused():
    with pytest.raises(Invalid, match="sleep_after must be a non-negative number"):
        app(sleep_after=-1)


def test_a_destroyed_sleeping_app_is_forgotten():
    clock = Clock()
    sleeper = Sleeper(clock=clock)
    sleeper.prepare([app()])
    clock.now += 61
    sleeper.prepare([app()])
    assert sleeper.sleeping("napper")
    sleeper.prepare([])
    assert not sleeper.sleeping("napper")


def test_a_restarted_runtime_leaves_a_sleeping_app_asleep(redis_url):
    import redis

    client = redis.Redis.from_url(redis_url)
    client.delete(SLEEPING_KEY)
    clock = Clock()
    sleeper = Sleeper(clock=clock, redis_client=client)
    sleeper.prepare([app()])
    clock.now += 61
    sleeper.prepare([app()])
    again = Sleeper(clock=clock, redis_client=client)
    assert again.sleeping("napper")
    assert quantities(again.prepare([app()]))["web"] == 0
    again.wake("napper")
    assert not Sleeper(clock=clock, redis_client=client).sleeping("napper")
