"""How the control plane wires the runtime library: backend, router and their addresses."""

import functools

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
    if settings.PIER_API_HOST and settings.PIER_ROUTER.endswith(".haproxy.Router"):
        options["api_host"] = settings.PIER_API_HOST
        options["api_upstream"] = f"127.0.0.1:{settings.PIER_PORT}"
        options["api_certificate"] = _api_certificate()
    return options


def api_files() -> tuple[str, str] | None:
    """The operator's certificate files for PIER_API_HOST: they win over ACME."""
    if settings.PIER_API_CERT_FILE and settings.PIER_API_KEY_FILE:
        return settings.PIER_API_CERT_FILE, settings.PIER_API_KEY_FILE
    return None


def api_acme() -> bool:
    """Whether the platform orders PIER_API_HOST's certificate itself (HTTP-01, like apps')."""
    return bool(settings.PIER_API_HOST and settings.PIER_ROUTER_HTTPS_PORT
                and settings.PIER_ROUTER.endswith(".haproxy.Router") and not api_files())


def _api_certificate():
    """What the router calls on each pass for the control plane's PEM bundle."""
    from runtime.router.haproxy_tls import read_bundle

    if files := api_files():
        return functools.partial(read_bundle, *files)
    from api.services.certs import control_plane_bundle

    return control_plane_bundle


def router():
    from runtime.router import load_router

    return load_router(settings.PIER_ROUTER, **router_options())


def backend_options() -> dict:
    from pier.redis import get_redis
    from runtime.leases import Leases

    return {
        "labels": {"pier.platform": settings.PIER_PLATFORM_ID},
        "isolate_host": not settings.PIER_UNSAFE_NO_ISOLATION,
        # One-offs are leased by the process that starts them, so orphans can be reaped.
        "leases": Leases(get_redis()),
    }


def swarm_options() -> dict:
    """What the Swarm backend needs besides: its manager, and the registry nodes pull from."""
    from registry.images import pull_auth
    from runtime.errors import ImproperlyConfigured

    if not settings.PIER_REGISTRY:
        raise ImproperlyConfigured(
            "the Swarm backend runs images every node pulls from Pier's registry: set "
            "PIER_REGISTRY to an address the nodes reach (see the README, Running across "
            "machines)")
    return {"manager": settings.PIER_SWARM_MANAGER, "registry_auth": pull_auth}


def runtime_backend():
    from runtime.backends import load_backend

    options = backend_options()
    if settings.PIER_RUNTIME_BACKEND.endswith(".swarm.Backend"):
        options.update(swarm_options())
    return load_backend(settings.PIER_RUNTIME_BACKEND, **options)


def outbound_policy():
    """Return where drains (and other deliveries for users) may connect."""
    from runtime.outbound import Policy, parse_allow

    return Policy(parse_allow(settings.PIER_OUTBOUND_ALLOW))
