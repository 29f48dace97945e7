"""A router that keeps the last table applied in memory; for unit tests.

:meth:`Router.answer` says what a request would get, the way the real routers decide it
(the router contract suite holds all of them to the same answers).
"""

from __future__ import annotations

import itertools

from runtime.router import pages
from runtime.router.base import BaseRouter, Route


class Router(BaseRouter):
    def __init__(self, log: list | None = None) -> None:
        self.routes: list[Route] = []
        self.applied = 0
        self.log = log if log is not None else []
        self._turn = itertools.count()

    def apply(self, routes: list[Route]) -> None:
        if list(routes) != self.routes:
            self.log.append(("route", {r.app: r.upstreams for r in routes}))
        self.routes = list(routes)
        self.applied += 1

    def upstreams(self, app: str) -> tuple[str, ...]:
        return next((r.upstreams for r in self.routes if r.app == app), ())

    def answer(self, host: str) -> tuple[int, str]:
        """Return ``(status, page)`` for a request to ``host``, or ``(200, upstream)``.

        Hosts match without case or port; upstreams take turns (round robin).
        """
        host = host.rpartition(":")[0] if ":" in host else host
        route = next((r for r in self.routes if host.lower() in
                      {h.lower() for h in r.hosts}), None)
        if route is None:
            return 404, pages.NO_SUCH_APP
        if route.maintenance:
            return 503, pages.MAINTENANCE
        if not route.upstreams:
            return 503, pages.no_web(route.name)
        return 200, route.upstreams[next(self._turn) % len(route.upstreams)]
