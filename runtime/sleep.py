"""Apps that sleep when idle and wake on their first request.

An app with ``sleep_after`` set whose router saw no request for that long is put to
sleep: :meth:`Sleeper.prepare` hands the reconciler its desired state with the web
quantity at 0, so its web processes are stopped like any scale-down (never taken for a
crash) and its workers keep running. The database's formation is never changed: waking
only stops that rewrite, and the reconciler converges back to the formation as asked.

While an app sleeps (or wakes), :class:`WakingRouter` routes its hosts to the waker
(:mod:`runtime.waker`), a small server in the runtime process that holds each request,
wakes the app and, once a web process is in the route, passes the held connection on to
it. Why not HAProxy's own queue: HAProxy queues requests only for servers that are full,
and answers 503 at once when a backend has none; a placeholder server to queue on would
still need something that answers the first request. The waker keeps the router as it is
(one more upstream address) and works for any router.

The last request of each app comes from the router's access log lines the log shipper
already reads (:meth:`requests_seen`), never from a write per request. Which apps sleep is
kept in Redis (``SLEEPING_KEY``), so a restarted runtime leaves them asleep and the
control plane can show it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import replace

from runtime import applog
from runtime.desired import DesiredApp
from runtime.reconciler import Event
from runtime.router.base import BaseRouter, Route

logger = logging.getLogger(__name__)

SLEEPING_KEY = "pier:sleeping"  # hash: app id -> "<release> <epoch asleep since>"
# Passes are asked for this often while a request waits for its app (the loop would
# otherwise wait its 1 s busy interval between starting a process and routing to it).
HURRY_EVERY = 0.05


def describe_after(seconds: float) -> str:
    """Return ``30m``, ``2h``, ``90s``: the way people wrote the duration."""
    seconds = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


class Sleeper:
    """Decide which apps sleep, wake them on demand, and tell waiting requests where to go.

    Thread-safe: the loop calls :meth:`prepare`, the access log tail :meth:`requests_seen`,
    the waker :meth:`wake` and :meth:`upstreams`.
    """

    def __init__(self, *, redis_client=None, clock: Callable[[], float] = time.time,
                 nudge: Callable[[], None] = lambda: None,
                 events: Callable[[Event], None] = lambda event: None) -> None:
        self.redis, self.clock, self._nudge, self.on_event = redis_client, clock, nudge, events
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}  # app id -> last request (or wake, or first seen)
        self._asleep: dict[str, int] = self._load()  # app id -> release it fell asleep on
        self._apps: dict[str, DesiredApp] = {}  # apps with sleep on, by id
        self._hosts: dict[str, str] = {}  # host -> app id, for the waker
        self._upstreams: dict[str, tuple[str, ...]] = {}
        self._held: dict[str, int] = {}  # app id -> requests the waker holds for it
        self._hurried = 0.0

    # -- fed by the access log and the loop --------------------------------------------

    def requests_seen(self, apps: Iterable[str]) -> None:
        now = self.clock()
        with self._lock:
            for app in apps:
                self._last[app] = now

    def prepare(self, desired: list[DesiredApp]) -> list[DesiredApp]:
        """Return ``desired`` with sleeping apps' web quantity at 0; put idle apps to sleep."""
        now = self.clock()
        out, falling, woken = [], [], []
        with self._lock:
            self._apps = {a.id: a for a in desired if a.sleep_after > 0 and a.release}
            for app in desired:
                if app.id not in self._apps:
                    if self._asleep.pop(app.id, None) is not None:
                        woken.append(app.id)  # sleep turned off: the formation comes back
                    out.append(app)
                    continue
                last = self._last.setdefault(app.id, now)
                slept = self._asleep.get(app.id)
                if slept is not None and slept != app.release:
                    del self._asleep[app.id]  # a new release is deployed awake
                    self._last[app.id] = now
                    woken.append(app.id)
                elif (slept is None and now - last >= app.sleep_after and _has_web(app)
                      and not self._held.get(app.id)):
                    self._asleep[app.id] = app.release
                    falling.append(app)
                out.append(_without_web(app) if app.id in self._asleep else app)
            present = {a.id for a in desired}
            for gone in [a for a in self._asleep if a not in present]:  # destroyed apps
                del self._asleep[gone]
                woken.append(gone)
            self._last = {k: v for k, v in self._last.items() if k in present}
        for app in falling:
            self._store(app.id, app.release, now)
            self._emit(app.id, f"Sleeping: no requests for {describe_after(app.sleep_after)};"
                       " web processes stop (other process types keep running)")
        for app_id in woken:
            self._store(app_id, None, now)
        return out

    # -- used by the waker -------------------------------------------------------------

    def app_for_host(self, host: str) -> DesiredApp | None:
        with self._lock:
            return self._apps.get(self._hosts.get(host.lower().rsplit(":", 1)[0], ""))

    def wake(self, app_id: str) -> None:
        """Take the app out of sleep (a request is waiting) and ask for a pass now.

        It stays awake until :meth:`release` says the waker no longer holds the request.
        """
        with self._lock:
            self._last[app_id] = self.clock()
            self._held[app_id] = self._held.get(app_id, 0) + 1
            slept = self._asleep.pop(app_id, None)
        if slept is not None:
            self._store(app_id, None, self.clock())
            self._emit(app_id, "Waking: a request arrived while asleep")
        self.hurry()

    def release(self, app_id: str) -> None:
        """Count a held request as handed over (or answered 503): idle time starts again."""
        with self._lock:
            self._last[app_id] = self.clock()
            self._held[app_id] -= 1
            if not self._held[app_id]:
                del self._held[app_id]

    def hurry(self) -> None:
        """Ask the loop for a pass soon (at most every HURRY_EVERY seconds)."""
        now = time.monotonic()
        if now - self._hurried >= HURRY_EVERY:
            self._hurried = now
            try:
                self._nudge()
            except Exception as e:  # noqa: BLE001 - the pass comes later anyway
                logger.warning("could not nudge the runtime: %s", e)

    def upstreams(self, app_id: str) -> tuple[str, ...]:
        """Return the app's web processes the router sends requests to (empty: none yet)."""
        with self._lock:
            return self._upstreams.get(app_id, ())

    def sleeping(self, app_id: str) -> bool:
        with self._lock:
            return app_id in self._asleep

    def routed(self, routes: list[Route], waker: str) -> list[Route]:
        """Return ``routes`` with the waker behind every sleep-enabled app without a process."""
        out, hosts = [], {}
        with self._lock:
            for route in routes:
                if route.app in self._apps:
                    self._upstreams[route.app] = route.upstreams
                    hosts.update((h.lower(), route.app) for h in route.hosts)
                    if not route.upstreams and not route.maintenance:
                        route = replace(route, upstreams=(waker,))
                out.append(route)
            self._hosts = hosts
            self._upstreams = {k: v for k, v in self._upstreams.items() if k in self._apps}
        return out

    # -- state -------------------------------------------------------------------------

    def _load(self) -> dict[str, int]:
        if self.redis is None:
            return {}
        import redis

        try:
            stored = self.redis.hgetall(SLEEPING_KEY)
        except redis.RedisError as e:
            logger.warning("sleeping apps not read (%s): all start awake", e)
            return {}
        return {applog.text(k): int(applog.text(v).split()[0]) for k, v in stored.items()}

    def _store(self, app_id: str, release: int | None, since: float) -> None:
        if self.redis is None:
            return
        import redis

        try:
            if release is None:
                self.redis.hdel(SLEEPING_KEY, app_id)
            else:
                self.redis.hset(SLEEPING_KEY, app_id, f"{release} {since:.0f}")
        except redis.RedisError as e:
            logger.warning("sleep state of %s not stored: %s", app_id, e)

    def _emit(self, app_id: str, message: str) -> None:
        logger.info("%s[pier]: %s", app_id, message)
        try:
            self.on_event(Event(app=app_id, message=message, kind="sleep"))
        except Exception:  # an event sink must never break a pass
            logger.exception("event callback failed")


def _has_web(app: DesiredApp) -> bool:
    web = app.spec("web")
    return bool(web and web.quantity)


def _without_web(app: DesiredApp) -> DesiredApp:
    formation = tuple(replace(s, quantity=0) if s.type == "web" else s for s in app.formation)
    return replace(app, formation=formation)


class WakingRouter(BaseRouter):
    """A router that sends sleeping apps' requests to the waker at ``waker`` ("ip:port")."""

    def __init__(self, router: BaseRouter, sleeper: Sleeper, waker: str) -> None:
        self.router, self.sleeper, self.waker = router, sleeper, waker

    def apply(self, routes: list[Route]) -> None:
        self.router.apply(self.sleeper.routed(routes, self.waker))

    def add_challenge(self, token: str, key_authorization: str) -> None:
        self.router.add_challenge(token, key_authorization)

    def remove_challenge(self, token: str) -> None:
        self.router.remove_challenge(token)
