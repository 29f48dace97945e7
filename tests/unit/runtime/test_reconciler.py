"""The reconciler against the in-memory backend and router, with a fake clock."""

from __future__ import annotations

import pytest

from runtime.backends.memory import Backend
from runtime.desired import DesiredApp, HealthCheck, ProcessSpec, ProcessStatus
from runtime.reconciler import Reconciler, SyncExecutor, backoff_delay, plan_type
from runtime.router.memory import Router


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def backend(clock):
    return Backend(clock=clock)


@pytest.fixture
def router(backend):
    return Router(log=backend.log)  # one log: the order of starts, routes and stops


@pytest.fixture
def events():
    return []


@pytest.fixture
def reconciler(backend, router, clock, events):
    return make_reconciler(backend, router, clock, events)


def make_reconciler(backend, router, clock, events):
    return Reconciler(backend, router, clock=clock, events=events.append, executor=SyncExecutor())


def app(release=1, web=1, worker=0, image=None, **kwargs):
    formation = [ProcessSpec("web", web, "serve"), ProcessSpec("worker", worker, "work")]
    return DesiredApp(
        name="myapp",
        release=release,
        image=image or f"pier/myapp:{release}",
        env={"A": "1"},
        formation=tuple(formation),
        **kwargs,
    )


def running(backend, release=None):
    return sorted(
        f"v{p.release} {p.name}"
        for p in backend.list_processes()
        if release is None or p.release == release
    )


def converge(reconciler, desired, clock=None, passes=5):
    for _ in range(passes):
        result = reconciler.reconcile(desired)
        if not result.pending:
            return result
        if clock:
            clock.advance(1)
    return result


def test_first_deploy_starts_formation_and_routes_web(reconciler, backend, router):
    converge(reconciler, [app(web=2, worker=1)])
    assert running(backend) == ["v1 web.1", "v1 web.2", "v1 worker.1"]
    route = router.routes[0]
    assert route.hosts == ("myapp.localhost",)
    assert route.upstreams == tuple(
        sorted(p.address for p in backend.list_processes() if p.type == "web")
    )


def test_second_reconcile_does_nothing(reconciler, backend, router):
    converge(reconciler, [app(web=2, worker=1)])
    calls, routed = list(backend.log), router.applied
    result = reconciler.reconcile([app(web=2, worker=1)])
    assert not result.pending and not result.events
    assert backend.log == calls  # no start, stop, remove or route change
    assert router.applied == routed + 1  # re-applying the same table is harmless


def test_scale_up_and_down(reconciler, backend, router):
    converge(reconciler, [app(web=1)])
    converge(reconciler, [app(web=3)])
    assert running(backend) == ["v1 web.1", "v1 web.2", "v1 web.3"]
    assert len(router.upstreams("myapp")) == 3
    converge(reconciler, [app(web=0)])
    assert running(backend) == []
    assert router.upstreams("myapp") == ()
    converge(reconciler, [app(web=1)])
    assert running(backend) == ["v1 web.1"]


def test_scale_down_unroutes_before_stopping(reconciler, backend):
    converge(reconciler, [app(web=2)])
    backend.log.clear()
    converge(reconciler, [app(web=1)])
    assert [entry[0] for entry in backend.log] == ["route", "stop"]


def test_adopts_running_processes_after_restart(reconciler, backend, router, clock, events):
    converge(reconciler, [app(web=2, worker=1)])
    ids = {p.container_id for p in backend.list_processes()}
    calls = len(backend.log)
    fresh = make_reconciler(backend, Router(), clock, events)  # the runtime restarted
    result = fresh.reconcile([app(web=2, worker=1)])
    assert {p.container_id for p in backend.list_processes()} == ids
    assert [c for c in backend.log[calls:] if c[0] != "route"] == []
    assert len(fresh.router.upstreams("myapp")) == 2
    assert not result.pending and not result.events and not result.succeeded
    assert not fresh.reconcile([app(web=2, worker=1)]).events


def test_apps_no_longer_desired_are_stopped(reconciler, backend, router):
    converge(reconciler, [app(web=1, worker=1)])
    converge(reconciler, [])
    assert running(backend) == []
    assert router.routes == []


def test_crash_is_reported_and_restarted_with_backoff(reconciler, backend, clock, events):
    converge(reconciler, [app(web=1, worker=1)])
    desired = [app(web=1, worker=1)]
    delays = []
    for _ in range(8):
        backend.crash("myapp", "worker.1", exit_code=3)
        crashed_at = clock.now
        reconciler.reconcile(desired)
        while running(backend) != ["v1 web.1", "v1 worker.1"] or any(
            p.state == "crashed" for p in backend.list_processes()
        ):
            clock.advance(0.5)
            reconciler.reconcile(desired)
        delays.append(clock.now - crashed_at)
    assert delays == [1, 2, 4, 8, 16, 32, 60, 60]
    assert [p.restarts for p in backend.list_processes() if p.type == "worker"] == [8]
    messages = [e.message for e in events if e.process == "worker.1" and e.kind == "crashed"]
    assert "Process exited with status 3" in messages
    assert backoff_delay(0) == 1 and backoff_delay(100) == 60


def test_backoff_resets_after_a_long_run(reconciler, backend, clock):
    desired = [app(web=0, worker=1)]
    converge(reconciler, desired)
    for _ in range(3):
        backend.crash("myapp", "worker.1")
        converge(reconciler, desired, clock, passes=20)
    clock.advance(3600)
    backend.crash("myapp", "worker.1")
    reconciler.reconcile(desired)
    clock.advance(1)
    reconciler.reconcile(desired)
    assert [p.state for p in backend.list_processes()] == ["up"]


def test_crashed_web_leaves_the_router_and_others_keep_serving(reconciler, backend, router):
    converge(reconciler, [app(web=2)])
    backend.crash("myapp", "web.1", exit_code=1)
    reconciler.reconcile([app(web=2)])
    web2 = next(p for p in backend.list_processes() if p.name == "web.2")
    assert router.upstreams("myapp") == (web2.address,)


def test_oom_is_reported_as_such(reconciler, backend, events):
    converge(reconciler, [app(web=1)])
    backend.crash("myapp", "web.1", exit_code=137, oom=True)
    reconciler.reconcile([app(web=1)])
    assert any("out of memory" in e.message for e in events if e.kind == "crashed")


def test_release_switch_order(reconciler, backend, router, clock, events):
    converge(reconciler, [app(release=1, web=2, worker=1)])
    v1 = set(router.upstreams("myapp"))
    backend.log.clear()
    backend.unhealthy_images.add("pier/myapp:2")  # v2 boots slowly
    result = reconciler.reconcile([app(release=2, web=2, worker=1)])
    assert result.pending
    assert running(backend, 2) == ["v2 web.1", "v2 web.2"]  # workers wait for the switch
    assert set(router.upstreams("myapp")) == v1  # old release keeps serving
    clock.advance(10)
    reconciler.reconcile([app(release=2, web=2, worker=1)])
    assert set(router.upstreams("myapp")) == v1
    backend.unhealthy_images.clear()  # v2 now listens on PORT
    result = converge(reconciler, [app(release=2, web=2, worker=1)])
    assert running(backend) == ["v2 web.1", "v2 web.2", "v2 worker.1"]
    v2 = {p.address for p in backend.list_processes() if p.type == "web"}
    assert set(router.upstreams("myapp")) == v2
    kinds = [entry[0] for entry in backend.log]
    assert kinds[:2] == ["start", "start"]  # new web processes first
    first_route = kinds.index("route")
    assert "stop" not in kinds[:first_route]  # the router switches before any old stop
    assert kinds[first_route + 1 :].count("stop") == 3
    assert ("myapp", 2) in [(e.app, e.release) for e in events if e.kind == "release_up"]


def test_release_failing_its_http_check_fails_and_says_which_check(
    reconciler, backend, router, clock, events
):
    converge(reconciler, [app(release=1, web=1)])
    v1 = set(router.upstreams("myapp"))
    backend.failing_paths.add("/health")
    check = HealthCheck(boot_timeout=5, path="/health", content="ok")
    desired = [app(release=2, web=1, healthcheck=check)]
    reconciler.reconcile(desired)
    clock.advance(6)
    assert reconciler.reconcile(desired).failed == [("myapp", 2)]
    assert set(router.upstreams("myapp")) == v1
    failed = next(e.message for e in events if e.kind == "release_failed")
    assert "did not answer GET /health with 'ok' within 5s" in failed
    # A check that passes releases as usual.
    backend.failing_paths.clear()
    converge(reconciler, [app(release=3, web=1, healthcheck=check)], clock)
    assert running(backend) == ["v3 web.1"]


def test_release_that_never_gets_healthy_fails_and_old_keeps_serving(
    reconciler, backend, router, clock, events
):
    converge(reconciler, [app(release=1, web=2, worker=1)])
    v1 = set(router.upstreams("myapp"))
    backend.unhealthy_images.add("pier/myapp:2")
    desired = [app(release=2, web=2, worker=1, healthcheck=HealthCheck(boot_timeout=5))]
    reconciler.reconcile(desired)
    clock.advance(4)
    assert not reconciler.reconcile(desired).failed
    clock.advance(2)
    result = reconciler.reconcile(desired)
    assert result.failed == [("myapp", 2)]
    assert running(backend) == ["v1 web.1", "v1 web.2", "v1 worker.1"]
    assert set(router.upstreams("myapp")) == v1
    assert any(e.kind == "release_failed" and "v1 keeps serving" in e.message for e in events)
    # The desired state still names v2 until the control plane reacts: no retry loop.
    calls = len(backend.log)
    clock.advance(100)
    assert not reconciler.reconcile(desired).pending
    assert len(backend.log) == calls
    # Rolling back (desired v1 again) changes nothing that runs.
    converge(reconciler, [app(release=1, web=2, worker=1)])
    assert len(backend.log) == calls


def test_first_release_that_never_gets_healthy_is_reported(reconciler, backend, clock):
    backend.unhealthy_images.add("pier/myapp:1")
    desired = [app(release=1, web=1, healthcheck=HealthCheck(boot_timeout=5))]
    reconciler.reconcile(desired)
    clock.advance(6)
    assert reconciler.reconcile(desired).failed == [("myapp", 1)]
    assert running(backend) == ["v1 web.1"]  # nothing older to serve: keep trying


def test_new_release_superseding_a_rollout(reconciler, backend, router):
    converge(reconciler, [app(release=1, web=1)])
    v1 = router.upstreams("myapp")
    backend.unhealthy_images.add("pier/myapp:2")
    reconciler.reconcile([app(release=2, web=1)])
    converge(reconciler, [app(release=3, web=1)])
    assert running(backend) == ["v3 web.1"]
    assert router.upstreams("myapp") != v1


def test_restart_token_replaces_processes(reconciler, backend):
    converge(reconciler, [app(web=1)])
    before = {p.container_id for p in backend.list_processes()}
    restarted = DesiredApp(
        name="myapp",
        release=1,
        image="pier/myapp:1",
        formation=(ProcessSpec("web", 1, "serve", restart_token="r1"),),
    )
    converge(reconciler, [restarted])
    after = backend.list_processes()
    assert len(after) == 1 and after[0].container_id not in before
    assert after[0].restart_token == "r1"


def restarted(web=2, worker=1, token="r1", web_tokens=None):
    formation = (ProcessSpec("web", web, "serve", restart_token=token,
                             process_tokens=web_tokens or {}),
                 ProcessSpec("worker", worker, "work", restart_token=token))
    return DesiredApp(name="myapp", release=1, image="pier/myapp:1", formation=formation)


@pytest.mark.parametrize("web", [1, 3])
def test_restarting_web_rolls_one_at_a_time_and_never_leaves_the_router_empty(
    reconciler, backend, router, web
):
    converge(reconciler, [restarted(web=web, token="")])
    before = {p.container_id for p in backend.list_processes()}
    desired = [restarted(web=web, token="r1")]
    for _ in range(20):
        result = reconciler.reconcile(desired)
        assert len(router.upstreams("myapp")) >= web  # full capacity all along
        booting = [p for p in backend.list_processes() if p.type == "web"]
        assert len(booting) <= web + 1  # one replacement at a time
        if not result.pending:
            break
    after = backend.list_processes()
    assert sorted(p.name for p in after) == [f"web.{i}" for i in range(1, web + 1)] + ["worker.1"]
    assert all(p.restart_token == "r1" and p.container_id not in before for p in after)
    assert set(router.upstreams("myapp")) == {p.address for p in after if p.type == "web"}


def test_restarting_one_process_leaves_the_others_alone(reconciler, backend):
    converge(reconciler, [restarted(web=2, token="")])
    before = {p.name: p.container_id for p in backend.list_processes()}
    converge(reconciler, [restarted(web=2, token="", web_tokens={2: "t"})])
    after = {p.name: p.container_id for p in backend.list_processes()}
    assert after["web.1"] == before["web.1"] and after["worker.1"] == before["worker.1"]
    assert after["web.2"] != before["web.2"]


def test_maintenance_and_custom_domains_reach_the_router(reconciler, router):
    converge(reconciler, [app(domains=("www.example.test",), maintenance=True)])
    route = router.routes[0]
    assert route.maintenance
    assert route.hosts == ("myapp.localhost", "www.example.test")


def test_worker_only_app_has_a_route_without_upstreams(reconciler, backend, router):
    converge(reconciler, [app(web=0, worker=2)])
    assert running(backend) == ["v1 worker.1", "v1 worker.2"]
    assert router.routes[0].upstreams == ()


def test_one_broken_app_does_not_hold_up_the_others(reconciler, backend, router):
    backend.missing_images.add("pier/myapp:1")
    other = DesiredApp(
        name="other", release=1, image="pier/other:1", formation=(ProcessSpec("web", 1, "serve"),)
    )
    result = converge(reconciler, [app(), other])
    assert any("pier/myapp:1 not found" in error for error in result.errors)
    assert running(backend) == ["v1 web.1"]
    assert router.upstreams("other")


def test_nothing_is_stopped_while_the_router_is_unreachable(backend, clock, events):
    from runtime.errors import RouterUnavailable

    class DownRouter(Router):
        def apply(self, routes):
            raise RouterUnavailable("connection refused")

    reconciler = make_reconciler(backend, Router(), clock, events)
    converge(reconciler, [app(web=2)])
    reconciler.router = DownRouter()
    result = reconciler.reconcile([app(web=1)])
    assert result.pending and result.errors
    assert running(backend) == ["v1 web.1", "v1 web.2"]


# -- the plan of one process type, on its own ------------------------------------------


def proc(index, type_="web", token="", state="up", cid=None):
    return ProcessStatus(app="a", type=type_, index=index, release=1, state=state,
                         address=f"10.0.0.{index}:5000" if state == "up" else None,
                         container_id=cid or f"{type_}{index}{token}", restart_token=token)


def every(_):
    return True


def no(_):
    return False


def test_plan_starts_missing_and_stops_extra_and_duplicate_processes():
    spec = ProcessSpec("web", 3, "serve")
    one, dup, four = proc(1), proc(1, cid="dup"), proc(4)
    plan = plan_type(spec, [one, dup, four, proc(2, "worker")], busy=set(), healthy=every)
    assert plan.start == [2, 3]
    assert plan.stop == [dup, four]
    assert (plan.crashed, plan.restarting, plan.pending) == ([], [], False)


def test_plan_leaves_busy_slots_alone_and_says_so():
    plan = plan_type(ProcessSpec("worker", 2, "work"), [], busy={1}, healthy=every)
    assert plan.start == [2] and plan.pending


def test_plan_hands_crashed_processes_to_the_backoff():
    crashed = proc(1, "worker", state="crashed")
    plan = plan_type(ProcessSpec("worker", 1, "work"), [crashed], busy=set(), healthy=no)
    assert plan.crashed == [crashed] and plan.start == [] and plan.stop == []


def test_plan_restarts_stale_workers_by_stopping_them():
    old = proc(1, "worker", token="")
    plan = plan_type(ProcessSpec("worker", 1, "work", restart_token="r2"), [old],
                     busy=set(), healthy=every)
    assert plan.restarting == [old] and plan.stop == [old] and plan.start == []
    assert plan.pending


def test_plan_rolls_stale_web_processes_one_at_a_time():
    spec = ProcessSpec("web", 2, "serve", restart_token="r2")
    old1, old2 = proc(1), proc(2)
    plan = plan_type(spec, [old1, old2], busy=set(), healthy=every)
    assert plan.restarting == [old1] and plan.start == [1] and plan.stop == []
    # The replacement of web.1 booting: web.2 waits; once healthy, the old web.1 goes.
    new1 = proc(1, token="r2")
    booting = plan_type(spec, [old1, new1, old2], busy=set(), healthy=lambda p: p is not new1)
    assert (booting.start, booting.stop, booting.pending) == ([], [], True)
    up = plan_type(spec, [old1, new1, old2], busy=set(), healthy=every)
    assert up.stop == [old1] and up.start == [] and up.pending
