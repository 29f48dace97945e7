"""Engines that run app processes. Pick one by dotted path with :func:`load_backend`."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from runtime.errors import ImproperlyConfigured

DEFAULT_BACKEND = "runtime.backends.docker.Backend"


def import_string(dotted_path: str) -> Any:
    """Import ``package.module.Name`` and return ``Name``, like Django's import_string."""
    try:
        module_path, name = dotted_path.rsplit(".", 1)
    except ValueError as e:
        raise ImportError(f"{dotted_path!r} is not a dotted path") from e
    module = importlib.import_module(module_path)
    try:
        return getattr(module, name)
    except AttributeError as e:
        raise ImportError(f"module {module_path!r} has no attribute {name!r}") from e


def available_backends() -> list[str]:
    """Return the dotted paths of the backends shipped in this package."""
    names = [m.name for m in pkgutil.iter_modules(__path__) if m.name != "base"]
    return [f"{__name__}.{name}.Backend" for name in sorted(names)]


def load_backend(dotted_path: str = DEFAULT_BACKEND, **options: Any) -> Any:
    """Instantiate the backend class at ``dotted_path`` with ``options``."""
    try:
        cls = import_string(dotted_path)
    except ImportError as e:
        choices = ", ".join(available_backends())
        raise ImproperlyConfigured(
            f"{dotted_path!r} isn't an available runtime backend ({e}). Try one of: {choices}"
        ) from e
    return cls(**options)
