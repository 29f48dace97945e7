"""Loading a backend or router class by dotted path, like Django's import_string."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from runtime.errors import ImproperlyConfigured


def import_string(dotted_path: str) -> Any:
    """Import ``package.module.Name`` and return ``Name``."""
    try:
        module_path, name = dotted_path.rsplit(".", 1)
    except ValueError as e:
        raise ImportError(f"{dotted_path!r} is not a dotted path") from e
    module = importlib.import_module(module_path)
    try:
        return getattr(module, name)
    except AttributeError as e:
        raise ImportError(f"module {module_path!r} has no attribute {name!r}") from e


def shipped(package: str, path: list[str], class_name: str) -> list[str]:
    """Return the dotted paths of the modules in a package that export ``class_name``.

    Helper modules (the router's error pages, say) sit beside the implementations: only a
    module that defines the class is one.
    """
    names = [m.name for m in pkgutil.iter_modules(path) if m.name != "base"]
    return [
        f"{package}.{name}.{class_name}"
        for name in sorted(names)
        if hasattr(importlib.import_module(f"{package}.{name}"), class_name)
    ]


def load(dotted_path: str, kind: str, choices: list[str], **options: Any) -> Any:
    """Instantiate the class at ``dotted_path``; a bad path lists the ``choices`` that exist."""
    try:
        cls = import_string(dotted_path)
    except ImportError as e:
        raise ImproperlyConfigured(
            f"{dotted_path!r} isn't an available {kind} ({e}). Try one of: {', '.join(choices)}"
        ) from e
    return cls(**options)
