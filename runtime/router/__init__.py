"""HTTP routers in front of app processes. Pick one by dotted path with :func:`load_router`."""

from __future__ import annotations

import pkgutil
from typing import Any

from runtime.backends import import_string
from runtime.errors import ImproperlyConfigured
from runtime.router.base import BaseRouter, Route

DEFAULT_ROUTER = "runtime.router.caddy.Router"

__all__ = ["BaseRouter", "Route", "load_router", "available_routers"]


def available_routers() -> list[str]:
    names = [m.name for m in pkgutil.iter_modules(__path__) if m.name != "base"]
    return [f"{__name__}.{name}.Router" for name in sorted(names)]


def load_router(dotted_path: str = DEFAULT_ROUTER, **options: Any) -> BaseRouter:
    """Instantiate the router class at ``dotted_path`` with ``options``."""
    try:
        cls = import_string(dotted_path)
    except ImportError as e:
        choices = ", ".join(available_routers())
        raise ImproperlyConfigured(
            f"{dotted_path!r} isn't an available router ({e}). Try one of: {choices}"
        ) from e
    return cls(**options)
