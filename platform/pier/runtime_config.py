"""How the control plane wires the runtime library: backend, router and their addresses."""

from django.conf import settings


def router_options() -> dict:
    data = settings.PIER_DATA_DIR
    options = {
        "state_dir": str(data / "router"),
        "listen": f":{settings.PIER_ROUTER_PORT}",
        "access_log": str(data / "router-access.log"),
    }
    # HTTPS (certificates through the runtime API) is the HAProxy router's alone.
    if settings.PIER_ROUTER_HTTPS_PORT and settings.PIER_ROUTER.endswith(".haproxy.Router"):
        options["https_listen"] = f":{settings.PIER_ROUTER_HTTPS_PORT}"
    return options


def router():
    from runtime.router import load_router

    return load_router(settings.PIER_ROUTER, **router_options())


def backend_options() -> dict:
    return {"labels": {"pier.platform": settings.PIER_PLATFORM_ID}}


def runtime_backend():
    from runtime.backends import load_backend

    return load_backend(settings.PIER_RUNTIME_BACKEND, **backend_options())
