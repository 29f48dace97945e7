"""The router contract: take the whole routing table, make the router serve exactly it."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Route:
    """Where requests for an app's hosts go.

    No upstreams means "no web processes running" (503); ``maintenance`` answers every
    request with the maintenance page (503) whatever the upstreams.
    """

    app: str  # the app's id: backends and access log lines stay the same across a rename
    hosts: tuple[str, ...]
    upstreams: tuple[str, ...] = ()  # "ip:port"
    maintenance: bool = False
    name: str = ""  # the app's name, for the pages people read; the id when not given
    certificate: str = ""  # PEM: certificate chain then private key, served over HTTPS
    # Plain HTTP to the hosts the certificate validly covers gets a 301 to HTTPS.
    https_redirect: bool = True

    def __post_init__(self) -> None:
        # Accept lists from callers but keep the value hashable and comparable.
        object.__setattr__(self, "hosts", tuple(self.hosts))
        object.__setattr__(self, "upstreams", tuple(self.upstreams))
        object.__setattr__(self, "name", self.name or self.app)


class BaseRouter:
    def apply(self, routes: list[Route]) -> None:
        """Replace the routing table with ``routes``; applying the same table again is harmless.

        Hosts not in any route get a 404 "no such app" page.
        """
        raise NotImplementedError("a router must provide apply(routes)")

    def add_challenge(self, token: str, key_authorization: str) -> None:
        """Answer ``GET /.well-known/acme-challenge/<token>`` with ``key_authorization``."""
        raise NotImplementedError("this router cannot answer ACME challenges")

    def remove_challenge(self, token: str) -> None:
        raise NotImplementedError("this router cannot answer ACME challenges")

    def start(self, wait: float = 10.0, **popen: Any) -> subprocess.Popen:
        """Run the router in the background and return once it takes tables (tests, benches)."""
        raise NotImplementedError("this router cannot run its own process")

    def serve(self) -> int:
        """Run the router itself in the foreground (the platform's `router` process).

        It starts with the last table applied, so a restarted router needs no runtime.
        """
        raise NotImplementedError("this router cannot run its own process")

