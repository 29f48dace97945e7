"""How the control plane wires the runtime library: backend, router and their addresses."""

import hashlib

from django.conf import settings


def platform_label() -> str:
    """Return a label value naming this platform, so two platforms on one host never mix."""
    return hashlib.sha256(str(settings.PIER_DATA_DIR).encode()).hexdigest()[:12]


def caddy_admin() -> str:
    return f"unix/{settings.PIER_DATA_DIR / 'caddy-admin.sock'}"


def router_options() -> dict:
    data = settings.PIER_DATA_DIR
    return {
        "admin": caddy_admin(),
        "listen": f":{settings.PIER_ROUTER_PORT}",
        "access_log": str(data / "router-access.log"),
        "config_file": str(data / "caddy.json"),
    }


def backend_options() -> dict:
    return {"labels": {"pier.platform": platform_label()}}


def runtime_backend():
    from runtime.backends import load_backend

    return load_backend(settings.PIER_RUNTIME_BACKEND, **backend_options())
