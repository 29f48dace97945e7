"""The add-on services this platform offers, picked by dotted path (``PIER_ADDON_SERVICES``)."""

from __future__ import annotations

from django.conf import settings

from addons.services.base import AddonService
from runtime.plugins import load


def services() -> dict[str, AddonService]:
    """Return the offered services by name (``postgresql``, ``redis``)."""
    loaded = [load(path, "add-on service", settings.PIER_ADDON_SERVICES)
              for path in settings.PIER_ADDON_SERVICES]
    return {service.name: service for service in loaded}
