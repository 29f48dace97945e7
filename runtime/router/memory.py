"""A router that only remembers the last table applied; for unit tests."""

from __future__ import annotations

from runtime.router.base import BaseRouter, Route


class Router(BaseRouter):
    def __init__(self, log: list | None = None) -> None:
        self.routes: list[Route] = []
        self.applied = 0
        self.log = log if log is not None else []

    def apply(self, routes: list[Route]) -> None:
        if list(routes) != self.routes:
            self.log.append(("route", {r.app: r.upstreams for r in routes}))
        self.routes = list(routes)
        self.applied += 1

    def upstreams(self, app: str) -> tuple[str, ...]:
        return next((r.upstreams for r in self.routes if r.app == app), ())
