"""Engines that run app processes. Pick one by dotted path with :func:`load_backend`.

Each implements :class:`runtime.backends.base.BaseBackend`; the contract suite runs
against every one :func:`available_backends` lists.
"""

from __future__ import annotations

from typing import Any

from runtime.plugins import import_string, load, shipped

DEFAULT_BACKEND = "runtime.backends.docker.Backend"

__all__ = ["available_backends", "import_string", "load_backend"]


def available_backends() -> list[str]:
    """Return the dotted paths of the backends shipped in this package."""
    return shipped(__name__, __path__, "Backend")


def load_backend(dotted_path: str = DEFAULT_BACKEND, **options: Any) -> Any:
    """Instantiate the backend class at ``dotted_path`` with ``options``."""
    return load(dotted_path, "runtime backend", available_backends(), **options)
