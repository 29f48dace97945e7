"""HTTP routers in front of app processes. Pick one by dotted path with :func:`load_router`.

Each implements :class:`runtime.router.base.BaseRouter`; the router contract suite
(``tests/integration/runtime/test_router_contract.py``) runs against every one
:func:`available_routers` lists.
"""

from __future__ import annotations

from typing import Any

from runtime.plugins import load, shipped
from runtime.router.base import BaseRouter, Route

DEFAULT_ROUTER = "runtime.router.haproxy.Router"

__all__ = ["BaseRouter", "Route", "load_router", "available_routers"]


def available_routers() -> list[str]:
    return shipped(__name__, __path__, "Router")


def load_router(dotted_path: str = DEFAULT_ROUTER, **options: Any) -> BaseRouter:
    """Instantiate the router class at ``dotted_path`` with ``options``."""
    return load(dotted_path, "router", available_routers(), **options)
