"""How the control plane wires the runtime library: backend, router and their addresses."""

from django.conf import settings


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
    return {"labels": {"pier.platform": settings.PIER_PLATFORM_ID}}


def runtime_backend():
    from runtime.backends import load_backend

    return load_backend(settings.PIER_RUNTIME_BACKEND, **backend_options())
