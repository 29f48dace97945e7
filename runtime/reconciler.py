"""Make the engine and the router match a desired state, one idempotent pass at a time.

Everything that matters is read back from the engine's labels on every pass. Apps are
keyed by ``DesiredApp.id`` (processes, routes, events), so a renamed app keeps its
processes and only its hostnames change. What the
reconciler keeps in memory only shortens or lengthens a wait when lost:

- when it first saw a process crashed (restart backoff),
- a release being rolled out and since when (boot timeout),
- releases it saw fail, so it does not retry them until the desired state changes,
- which processes it has seen healthy, so they are not probed on every pass,
- the stops it has under way (a stop waits out the grace period in a worker thread).

A pass never blocks on a boot or a stop: :class:`ReconcileResult.pending` says another
pass soon would make progress. What to do to one process type is decided first, as a
value (:func:`plan_type` returns a :class:`TypePlan`), then carried out.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from runtime.backends.base import BaseBackend
from runtime.desired import DesiredApp, ProcessSpec, ProcessStatus
from runtime.errors import BackendUnavailable, PierRuntimeError
from runtime.router.base import BaseRouter, Route

logger = logging.getLogger(__name__)

BACKOFF_CAP = 60.0
# A process that ran this long before crashing starts its backoff over at 1 s.
BACKOFF_RESET_AFTER = 600.0


@dataclass(frozen=True)
class Event:
    """Something that happened to an app, for its log stream (source ``pier``)."""

    app: str  # the app's id, which names its log stream
    message: str
    # started, stopped, crashed, restarted, release_up, release_failed, error
    kind: str = "info"
    process: str | None = None  # "web.1"
    release: int | None = None
    oom: bool = False  # a crash because the process ran out of memory


@dataclass
class ReconcileResult:
    events: list[Event] = field(default_factory=list)
    succeeded: list[tuple[str, int]] = field(default_factory=list)  # (app id, release) now live
    failed: list[tuple[str, int]] = field(default_factory=list)  # (app id, release) given up on
    errors: list[str] = field(default_factory=list)
    pending: bool = False  # a rollout, a backoff or a stop is under way


@dataclass
class _Rollout:
    release: int
    since: float


class _AppPass:
    """What one pass decided for one app: its route and the processes to stop after it."""

    def __init__(self) -> None:
        self.upstreams: list[str] = []
        self.to_stop: list[ProcessStatus] = []


def backoff_delay(restarts: int) -> float:
    """Return how long to wait before restart number ``restarts + 1``: 1, 2, 4 ... 60 s."""
    return min(BACKOFF_CAP, 2.0 ** min(restarts, 10))


def crash_message(p: ProcessStatus, memory_mb: int | None = None) -> str:
    if p.oom_killed:
        limit = f" (memory limit {memory_mb} MB)" if memory_mb else ""
        return f"Process killed: out of memory{limit}; exited with status {p.exit_code}"
    return f"Process exited with status {p.exit_code}"


class _SyncExecutor(Executor):
    """Run submitted calls at once; for tests and single-threaded use."""

    def submit(self, fn, /, *args, **kwargs):
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as e:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(e)
        return future


SyncExecutor = _SyncExecutor


@dataclass
class TypePlan:
    """What one pass does to the processes of one type, decided before anything is done."""

    start: list[int] = field(default_factory=list)  # indexes to start
    stop: list[ProcessStatus] = field(default_factory=list)  # once out of the route
    crashed: list[ProcessStatus] = field(default_factory=list)  # to restart after backoff
    restarting: list[ProcessStatus] = field(default_factory=list)  # replaced on purpose
    pending: bool = False  # a replacement or a stop is under way: pass again soon


def plan_type(
    spec: ProcessSpec,
    current: list[ProcessStatus],
    *,
    busy: set[int],
    healthy: Callable[[ProcessStatus], bool],
) -> TypePlan:
    """Return what to do to converge the processes of ``spec.type`` among ``current``
    (the desired release's processes) to ``spec``.

    ``busy`` are the indexes whose previous process is still stopping (left alone this
    pass); ``healthy`` says whether a process passes its health check now. A process
    whose restart token is not the spec's is stale (``ps:restart``): worker processes are
    stopped, then started again; web processes roll, one at a time, the replacement
    starting beside the old process, which is stopped once the new one is healthy.
    """
    plan = TypePlan()
    slots: dict[int, list[ProcessStatus]] = defaultdict(list)
    for p in current:
        if p.type == spec.type:
            slots[p.index].append(p)
    fresh: dict[int, ProcessStatus] = {}
    stale: dict[int, ProcessStatus] = {}
    for index, procs in slots.items():
        if index > spec.quantity:
            plan.stop += procs
            continue
        token = spec.token_for(index)
        for p in procs:  # keep one of each; a duplicate can only come from outside
            kept = fresh if p.restart_token == token else stale
            if p.container_id != kept.setdefault(index, p).container_id:
                plan.stop.append(p)
    # ps:restart of web processes rolls: one at a time, the replacement starts beside
    # the old process and takes over once healthy, so the app never stops answering.
    rolling = spec.type == "web" and any(i in fresh for i in stale)
    for index in range(1, spec.quantity + 1):
        new, old = fresh.get(index), stale.get(index)
        if index in busy:
            plan.pending = True
        elif old is None and new is None:
            plan.start.append(index)
        elif old is None:
            if new.state == "crashed":
                plan.crashed.append(new)
        elif new is not None:  # a replacement is booting beside the old process
            plan.pending = True
            if healthy(new):
                plan.stop.append(old)
            elif new.state == "crashed":
                plan.crashed.append(new)
        elif spec.type == "web" and healthy(old):
            plan.pending = True
            if not rolling:
                rolling = True
                plan.restarting.append(old)
                plan.start.append(index)
        else:
            plan.restarting.append(old)
            plan.stop.append(old)
            plan.pending = True
    return plan


class Reconciler:
    def __init__(
        self,
        backend: BaseBackend,
        router: BaseRouter,
        *,
        clock: Callable[[], float] = time.monotonic,
        events: Callable[[Event], None] | None = None,
        domain: str = "localhost",
        executor: Executor | None = None,
    ) -> None:
        self.backend = backend
        self.router = router
        self.clock = clock
        self.on_event = events or (lambda event: None)
        self.domain = domain
        self.executor = executor or ThreadPoolExecutor(8, thread_name_prefix="pier-stop")
        self._crash_seen: dict[str, float] = {}
        self._rollouts: dict[str, _Rollout] = {}
        self._live: dict[str, int] = {}
        self._failed: set[tuple[str, int]] = set()
        self._healthy: set[str] = set()
        self._stopping: dict[str, tuple[ProcessStatus, Future]] = {}
        self._started: set[str] = set()
        # The last error the engine gave each app (e.g. no node can hold a process): said
        # once in the app's log, again only when it changes or after a pass without one.
        self._refused: dict[str, str] = {}
        self._network_ready = False
        self._result = ReconcileResult()

    def backend_lost(self) -> None:
        """Forget that the network is set up: the engine may have restarted."""
        self._network_ready = False

    # -- the pass ---------------------------------------------------------------

    def reconcile(self, desired: list[DesiredApp]) -> ReconcileResult:
        """Converge engine and router to ``desired`` (every app; others are stopped)."""
        self._result = result = ReconcileResult()
        if not self._network_ready:
            self.backend.ensure_network()
            self._network_ready = True
        self._reap_stops()
        by_app: dict[str, list[ProcessStatus]] = defaultdict(list)
        for p in self.backend.list_processes():
            by_app[p.app].append(p)
        self._forget_gone({p.container_id for ps in by_app.values() for p in ps})

        routes: list[Route] = []
        to_stop: list[ProcessStatus] = []
        for app in sorted(desired, key=lambda a: a.name):
            decided = self._reconcile_app_safely(app, by_app.pop(app.id, []))
            routes.append(self._route(app, decided.upstreams))
            to_stop += [(p, app.stop_grace) for p in decided.to_stop]
        for gone_app, processes in by_app.items():  # apps no longer desired
            to_stop += [(p, 30.0) for p in processes]
            self._rollouts.pop(gone_app, None)
            self._live.pop(gone_app, None)

        # Route first, then stop: a process leaves the router before it gets SIGTERM.
        try:
            self.router.apply(routes)
        except PierRuntimeError as e:
            result.errors.append(f"router: {e}")
            result.pending = True
            return result
        for p, grace in to_stop:
            try:
                self._stop(p, grace)
            except BackendUnavailable:
                raise
            except PierRuntimeError as e:
                result.errors.append(f"{p.app} {p.name}: {e}")
        if self._stopping:
            result.pending = True
        return result

    def _reconcile_app_safely(self, app: DesiredApp, procs: list[ProcessStatus]) -> _AppPass:
        try:
            decided = self._reconcile_app(app, procs)
            self._refused.pop(app.id, None)
            return decided
        except BackendUnavailable:
            raise
        except PierRuntimeError as e:
            self._result.errors.append(f"{app.name}: {e}")
            self._result.pending = True
            if self._refused.get(app.id) != str(e):  # once, not at every pass
                self._refused[app.id] = str(e)
                self._emit(app.id, f"Error: {e}", "error", release=app.release)
            decided = _AppPass()
            decided.upstreams = self._upstreams(app, procs, self._serving_release(app, procs))
            return decided

    def _reconcile_app(self, app: DesiredApp, procs: list[ProcessStatus]) -> _AppPass:
        decided = _AppPass()
        procs = [p for p in procs if p.container_id not in self._stopping]
        current = [p for p in procs if p.release == app.release]
        old = [p for p in procs if p.release != app.release]
        web = app.spec("web")
        if (app.id, app.release) in self._failed:
            decided.to_stop = current
            decided.upstreams = self._upstreams(app, old, self._serving_release(app, old))
            return decided
        if web and web.quantity and self._live.get(app.id) != app.release:
            if not self._roll_out(app, web, current, old, decided):
                return decided
        self._live[app.id] = app.release
        for spec in app.formation:
            self._converge_type(app, spec, current, decided)
        wanted = {s.type for s in app.formation}
        decided.to_stop += [p for p in current if p.type not in wanted] + old
        # Route first, then stop: what is about to be stopped gets no more requests.
        stopping = {p.container_id for p in decided.to_stop}
        serving = [p for p in current if p.container_id not in stopping]
        decided.upstreams = self._upstreams(app, serving, app.release)
        return decided

    # -- release switch ---------------------------------------------------------

    def _roll_out(self, app, web: ProcessSpec, current, old, decided: _AppPass) -> bool:
        """Start the new release's web processes and return True once all are healthy.

        Until then the old release keeps serving; past the boot timeout the new release
        is given up on (and stopped, when there is an old release to fall back to).
        """
        new_web = [p for p in current if p.type == "web" and p.index <= web.quantity]
        healthy = {p.index for p in new_web if self._is_healthy(app, p)}
        all_healthy = healthy >= set(range(1, web.quantity + 1))
        rollout = self._rollouts.get(app.id)
        if rollout is None or rollout.release != app.release:
            if all_healthy and not old:  # a restarted runtime adopting a running release
                return True
            rollout = self._rollouts[app.id] = _Rollout(app.release, self.clock())
            self._emit(app.id, f"Deploying v{app.release}", "deploying", release=app.release)
        self._converge_type(app, web, current, decided)
        serving = self._serving_release(app, old)
        if all_healthy:
            del self._rollouts[app.id]
            self._result.succeeded.append((app.id, app.release))
            self._emit(app.id, f"Release v{app.release} is up", "release_up", release=app.release)
            return True
        if self.clock() - rollout.since <= app.healthcheck.boot_timeout:
            self._result.pending = True
            decided.upstreams = self._upstreams(app, old, serving)
            decided.to_stop += [p for p in old if p.release != serving]
            return False
        del self._rollouts[app.id]
        self._result.failed.append((app.id, app.release))
        reason = (
            f"Release v{app.release} failed: web processes did not "
            f"{app.healthcheck.describe()} within {app.healthcheck.boot_timeout:g}s"
        )
        if serving is None:  # nothing to fall back to: keep trying to run it
            self._emit(app.id, reason, "release_failed", release=app.release)
            return True
        self._failed.add((app.id, app.release))
        self._emit(app.id, f"{reason}; v{serving} keeps serving", "release_failed",
                   release=app.release)
        decided.to_stop += current + [p for p in old if p.release != serving]
        decided.upstreams = self._upstreams(app, old, serving)
        return False

    def _serving_release(self, app: DesiredApp, procs: list[ProcessStatus]) -> int | None:
        """Return the release whose web processes the router should keep using, if any."""
        releases = {p.release for p in procs if p.type == "web" and p.state == "up"}
        live = self._live.get(app.id)
        if live in releases:
            return live
        return max(releases, default=None)

    # -- one process type -------------------------------------------------------

    def _converge_type(self, app: DesiredApp, spec: ProcessSpec, current, decided) -> None:
        """Plan this type's processes (:func:`plan_type`), then carry the plan out."""
        plan = plan_type(spec, current, busy=self._busy_slots(app, spec),
                         healthy=lambda p: self._is_healthy(app, p))
        for p in plan.restarting:
            self._emit(app.id, "Restarting", "restarting", p.name, app.release)
        decided.to_stop += plan.stop
        self._result.pending |= plan.pending
        for p in plan.crashed:
            self._handle_crash(app, spec, p)
        self._start_many(app, spec, plan.start)

    def _start_many(self, app: DesiredApp, spec: ProcessSpec, indexes: list[int]) -> None:
        """Start several processes at once: one at a time, `ps:scale web=20` took ~10 s."""
        if len(indexes) < 2:
            for index in indexes:
                self._start(app, spec, index)
            return
        with ThreadPoolExecutor(self.backend.starts_at_once,
                                thread_name_prefix="pier-start") as pool:
            statuses = list(
                pool.map(lambda i: self.backend.start_process(app, spec, i, restarts=0), indexes)
            )
        for status in statuses:
            self._started_event(app, spec, status, restarts=0)

    def _busy_slots(self, app: DesiredApp, spec: ProcessSpec) -> set[int]:
        """Return the indexes whose process (same release) is still being stopped."""
        return {p.index for p, _ in self._stopping.values()
                if (p.release, p.type) == (app.release, spec.type)}

    def _handle_crash(self, app: DesiredApp, spec: ProcessSpec, p: ProcessStatus) -> None:
        now = self.clock()
        if p.container_id not in self._crash_seen:
            self._crash_seen[p.container_id] = now
            self._emit(app.id, crash_message(p, spec.memory_mb), "crashed", p.name, p.release,
                       oom=p.oom_killed)
            self._emit(app.id, "State changed from up to crashed", "crashed", p.name,
                       p.release)
        ran_for = (p.finished_at or 0) - (p.started_at or 0)
        restarts = 0 if ran_for >= BACKOFF_RESET_AFTER else p.restarts
        if now - self._crash_seen[p.container_id] < backoff_delay(restarts):
            self._result.pending = True
            return
        self.backend.remove(p)
        self._crash_seen.pop(p.container_id, None)
        self._start(app, spec, p.index, restarts=restarts + 1)

    def _start(self, app: DesiredApp, spec: ProcessSpec, index: int, restarts: int = 0) -> None:
        status = self.backend.start_process(app, spec, index, restarts=restarts)
        self._started_event(app, spec, status, restarts)

    def _started_event(self, app: DesiredApp, spec: ProcessSpec, status, restarts: int) -> None:
        self._started.add(status.container_id)
        verb = "Restarting" if restarts else "Starting"
        self._emit(app.id, f"{verb} process with command `{spec.command or '(image default)'}`",
                   "restarted" if restarts else "started", status.name, app.release)
        self._result.pending = True

    def _stop(self, p: ProcessStatus, grace: float) -> None:
        if p.container_id in self._stopping:
            return
        if p.state == "crashed":
            self.backend.remove(p)
            return
        self._emit(p.app, f"Stopping v{p.release} (SIGTERM)", "stopped", p.name, p.release)
        future = self.executor.submit(self.backend.stop_process, p, grace)
        self._stopping[p.container_id] = (p, future)
        self._reap_stops()

    def _reap_stops(self) -> None:
        for cid, (p, future) in list(self._stopping.items()):
            if future.done():
                del self._stopping[cid]
                if future.exception() is not None:
                    logger.warning("stopping %s %s failed: %s", p.app, p.name, future.exception())

    # -- routing ----------------------------------------------------------------

    def _is_healthy(self, app: DesiredApp, p: ProcessStatus) -> bool:
        if p.state != "up":
            return False
        if p.container_id in self._healthy:
            return True
        check = app.healthcheck if p.type == "web" else None
        if self.backend.is_healthy(p, check):
            self._healthy.add(p.container_id)
            if p.container_id in self._started:  # adopted processes were up all along
                self._emit(p.app, "State changed from starting to up", "up", p.name, p.release)
            return True
        return False

    def _upstreams(self, app: DesiredApp, procs, release: int | None) -> list[str]:
        if release is None:
            return []
        web = app.spec("web") if release == app.release else None
        quantity = web.quantity if web else None
        return sorted(
            p.address for p in procs
            if p.type == "web" and p.release == release and p.address
            and (quantity is None or p.index <= quantity) and self._is_healthy(app, p)
        )

    def _route(self, app: DesiredApp, upstreams: list[str]) -> Route:
        hosts = (f"{app.name}.{self.domain}", *app.domains)
        return Route(app=app.id, hosts=hosts, upstreams=tuple(upstreams),
                     maintenance=app.maintenance, name=app.name, certificate=app.certificate,
                     https_redirect=app.https_redirect)

    # -- bookkeeping ------------------------------------------------------------

    def _forget_gone(self, present: set[str]) -> None:
        for cid in set(self._crash_seen) - present:
            del self._crash_seen[cid]
        self._healthy &= present
        self._started &= present

    def _emit(self, app, message, kind="info", process=None, release=None, oom=False) -> None:
        event = Event(app=app, message=message, kind=kind, process=process, release=release,
                      oom=oom)
        self._result.events.append(event)
        logger.info("%s[%s]: %s", app, process or "pier", message)
        try:
            self.on_event(event)
        except Exception:  # an event sink must never break a pass
            logger.exception("event callback failed")
