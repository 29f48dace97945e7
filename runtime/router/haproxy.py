"""Route HTTP to app processes with HAProxy: a generated config for the table's shape, the
runtime API for the processes behind it.

Why HAProxy and not Caddy: on this 2-core machine Caddy cost 3.5-5x nginx's CPU per
request (bench/router.py, bench/results/router.json), and every change of upstreams was a
config reload that closed idle keep-alive client connections.

The shape of the table (which apps, their hosts, maintenance, how many server slots each
backend has) is a config file plus a host map. Changing it validates the new file and asks
the master process to reload, which hands the listening socket to a new worker without
refusing a connection. Which processes serve an app changes far more often (every deploy,
scale and crash): that only fills or empties server slots through the runtime API
(``set server <backend>/<slot> addr ... / state ready|maint``), so the busy path never
reloads. Slot addresses survive reloads and restarts of HAProxy through its server-state
file, so a restarted router serves the last table until the runtime's next pass.

Per app host: round-robin over the app's processes; a connection refused or reset before
any response is retried on another process (idempotent methods only for a reset); a
process that fails a connection or its TCP check is taken out at once and put back when
its check passes; ``X-Request-Id`` (kept from the client or a fresh UUID);
``X-Forwarded-For/Proto/Port``; a 30 s response timeout. Unknown hosts get 404 "no such
app", an app without web processes 503, an app in maintenance 503 with the maintenance
page. Access log lines are JSON with the fields :func:`runtime.logship.router_line` reads.

The control plane can be routed too: requests for ``api_host`` go to ``api_upstream`` (the
control plane's port on loopback), over HTTPS with the certificate ``api_certificate`` returns
on each pass (the operator's files or the platform's own ACME one), and plain HTTP to that
host is redirected to HTTPS once that certificate serves it validly (never to a broken HTTPS).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from runtime import certnames
from runtime.errors import ImproperlyConfigured, RouterUnavailable
from runtime.router import haproxy_process, haproxy_tls
from runtime.router.base import BaseRouter, Route
from runtime.router.haproxy_paths import Paths
from runtime.router.pages import APP_ERROR, MAINTENANCE, NO_SUCH_APP, no_web

SLOTS_MIN = 8
API_CERT = "_pier_api"  # the control plane's certificate; apps' are named by their UUIDs
TUNNEL_SECONDS = 3600  # an idle WebSocket is closed after an hour
PIPE_BYTES = 1 << 20  # the access log pipe: 50 ms of ~20k requests/s
NOT_JSON_LINE = re.compile(rb"^(?!\{).*\n", re.MULTILINE)
# Tells whether a batch holds such a line after its first, 12x faster than NOT_JSON_LINE.
NEXT_LINE_NOT_JSON = re.compile(rb"\n[^{]")
# Admin-state bits of a server that mean "out of rotation": forced, inherited, resolution.
MAINT_BITS = 0x01 | 0x02 | 0x20
PAGES = {
    "no-such-app.html": NO_SUCH_APP,
    # A log-format file (`lf-file`): HAProxy puts the app's name in per request.
    "no-web.html": no_web("%[var(txn.name)]"),
    "maintenance.html": MAINTENANCE,
    "app-error.html": APP_ERROR,
}
# The same fields as Caddy's JSON access log, so one parser reads both.
LOG_FORMAT = (
    '{"ts":%Ts.%ms,"pier_app":"%[var(txn.app)]",'
    '"request_id":"%[var(txn.rid),json(utf8s)]",'
    '"request":{"method":"%HM","uri":"%[capture.req.uri,json(utf8s)]",'
    '"host":"%[var(txn.host),json(utf8s)]","remote_ip":"%ci"},'
    '"status":%ST,"size":%B,"duration_ms":%Ta,"upstream":"%si:%sp","connect_ms":%Tc,'
    '"upstream_duration":%Tr}'
)


def backend_name(app: str) -> str:
    return f"app_{app}"


def slots_for(needed: int, current: int = 0) -> int:
    """Keep the backend's slot count while it is enough (no reload), else double it."""
    if needed <= current:
        return max(current, SLOTS_MIN)
    slots = max(SLOTS_MIN, current)
    while slots < needed:
        slots *= 2
    return slots


def _return(status: int, page: str, paths: Paths, kind: str = "file") -> str:
    return (f'http-request return status {status} content-type "text/html; charset=utf-8" '
            f"{kind} {paths.pages / page} hdr Cache-Control no-store")


def render_config(
    routes: list[Route], slots: dict[str, int], paths: Paths, *,
    listen: str = ":8080", response_timeout: float = 30.0, tunnel: float = TUNNEL_SECONDS,
    https_listen: str = "", api_host: str = "", api_upstream: str = "",
) -> str:
    """Return the complete haproxy.cfg for the shape of ``routes`` (not their upstreams).

    With ``https_listen``, HTTPS is served there too (see :mod:`runtime.router.haproxy_tls`).
    With ``api_host``, that host is the control plane's, at ``api_upstream``.
    """
    error_pages = "\n".join(
        f"    http-error status {status} content-type \"text/html; charset=utf-8\" "
        f"file {paths.pages / 'app-error.html'} hdr Cache-Control no-store"
        for status in (502, 503, 504)
    )
    lines = [
        "# Written by Pier's runtime (runtime/router/haproxy.py); changes here are lost.",
        "global",
        "    master-worker",
        # One thread: over 40k proxied requests/s on one core here, 13% less CPU per
        # request than two threads (bench/results/router.json); other cores stay the apps'.
        "    nbthread 1",
        f"    stats socket {paths.admin} mode 600 level admin expose-fd listeners",
        "    stats timeout 10s",
        f"    server-state-file {paths.servers}",
        # A reload (any app created, a domain added, maintenance switched) must not cut
        # other apps' WebSockets: old workers keep their tunnels as long as an idle tunnel
        # may live, and only workers older than ten reloads are stopped sooner.
        f"    hard-stop-after {tunnel:g}s",
        "    mworker-max-reloads 10",
        *(haproxy_tls.global_lines() if https_listen else []),
        "",
        "defaults",
        "    mode http",
        f"    log-format '{LOG_FORMAT}'",
        "    load-server-state-from-file global",
        "    option forwardfor",
        "    option redispatch 1",
        "    retries 3",
        "    retry-on conn-failure empty-response",
        # Upstreams are on the local bridge: a connect that takes a second never will work.
        "    timeout connect 1s",
        "    timeout client 60s",
        f"    timeout server {response_timeout:g}s",
        "    timeout http-request 10s",
        "    timeout http-keep-alive 60s",
        f"    timeout tunnel {tunnel:g}s",
        "    default-server init-addr last,0.0.0.0 check inter 2s fastinter 500ms rise 1 fall 2"
        " observe layer4 error-limit 1 on-error mark-down",
        error_pages,
        "",
        "frontend pier",
        f"    bind {haproxy_process.bind_address(haproxy_process.HTTP_SOCKET, listen)}",
        *([haproxy_tls.bind_line(paths, https_listen)] if https_listen else []),
        # Only the frontend logs (one JSON line per request); HAProxy's own notices go to
        # stderr, so the access log holds nothing else.
        "    log stdout format raw local0 info",
        "    http-request set-var(txn.host) req.hdr(host),field(1,:),lower",
        f"    http-request set-var(txn.app) var(txn.host),map_str({paths.hosts})",
        "    http-request set-header X-Request-Id %[uuid]"
        " unless { req.hdr(X-Request-Id) -m found }",
        "    http-request set-var(txn.rid) req.hdr(X-Request-Id)",
        "    http-request set-header X-Forwarded-Proto https if { ssl_fc }",
        "    http-request set-header X-Forwarded-Proto http unless { ssl_fc }",
        "    http-request set-header X-Forwarded-Port %[dst_port]",
        # A process that closed the connection may have acted on the request: only
        # idempotent requests are sent again.
        "    http-request disable-l7-retry unless METH_GET || METH_OPTIONS",
        *haproxy_tls.frontend_lines(paths),
        *([f"    acl pier_api var(txn.host) -m str {api_host.lower()}"] if api_host else []),
        *(haproxy_tls.redirect_lines(paths, https_listen) if https_listen else []),
        "    " + _return(404, "no-such-app.html", paths)
        + " unless { var(txn.app) -m found }" + (" || pier_api" if api_host else ""),
        *(["    use_backend pier_api if pier_api"] if api_host else []),
        "    use_backend app_%[var(txn.app)]",
    ]
    if api_host:
        lines += ["", "backend pier_api",
                  # Pushes stream their build and `logs --tail` stays open: as long as a tunnel.
                  f"    timeout server {tunnel:g}s",
                  f"    server api {api_upstream}"]
    for route in sorted(routes, key=lambda r: r.app):
        lines += ["", f"backend {backend_name(route.app)}", "    balance roundrobin"]
        if route.maintenance:
            lines.append("    " + _return(503, "maintenance.html", paths))
        else:
            # The host map gives the app's id; the page names the app as its users do.
            lines.append(f"    http-request set-var(txn.name) str({route.name})"
                         " if { nbsrv eq 0 }")
            lines.append("    " + _return(503, "no-web.html", paths, kind="lf-file")
                         + " if { nbsrv eq 0 }")
        lines += [
            # Placeholders the runtime fills through the API; port 1, as port 0 would mean
            # "the client's destination port" and a restored address would be unusable.
            f"    server-template w 1-{slots[route.app]} unset.invalid:1 disabled",
        ]
    return "\n".join(lines) + "\n"


def render_hosts(routes: list[Route]) -> str:
    return "".join(
        f"{host.lower()} {route.app}\n"
        for route in sorted(routes, key=lambda r: r.app) for host in route.hosts
    )


def runtime_api(path: os.PathLike | str, command: str, timeout: float = 5.0) -> str:
    """Send one command line (``;`` separates several) to a HAProxy CLI socket."""
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(timeout)
            sock.connect(os.fspath(path))
            sock.sendall(command.encode() + b"\n")
            chunks = []
            while data := sock.recv(65536):
                chunks.append(data)
    except OSError as e:
        raise RouterUnavailable(f"HAProxy's socket {path}: {e}") from e
    return b"".join(chunks).decode(errors="replace")


@dataclass(frozen=True)
class Slot:
    name: str
    address: str | None  # "ip:port" while in rotation


def parse_servers_state(text: str) -> dict[str, list[Slot]]:
    """Parse ``show servers state`` into the slots of each backend."""
    backends: dict[str, list[Slot]] = {}
    header: list[str] = []
    for line in text.splitlines():
        if line.startswith("# "):
            header = line[2:].split()
            continue
        fields = line.split()
        if not header or len(fields) < len(header):
            continue
        row = dict(zip(header, fields, strict=False))
        serving = not int(row["srv_admin_state"]) & MAINT_BITS
        address = f"{row['srv_addr']}:{row['srv_port']}" if serving else None
        backends.setdefault(row["be_name"], []).append(Slot(row["srv_name"], address))
    return backends


def haproxy_binary() -> str:
    # Debian puts it in /usr/sbin, which a non-root PATH often lacks.
    found = shutil.which("haproxy", path=os.environ.get("PATH", "") + os.pathsep + "/usr/sbin")
    if not found:
        raise ImproperlyConfigured("no haproxy binary: apt-get install haproxy")
    return found


def write_atomically(path: Path, data: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False) as tmp:
        tmp.write(data)
    os.replace(tmp.name, path)


class Router(BaseRouter):
    def __init__(
        self,
        *,
        state_dir: str | os.PathLike,
        listen: str = ":8080",
        access_log: str = "stdout",
        response_timeout: float = 30.0,
        reload_timeout: float = 10.0,
        https_listen: str = "",
        api_host: str = "",
        api_upstream: str = "",
        api_certificate: Callable[[], str] | None = None,
    ) -> None:
        self.paths = Paths(Path(state_dir))
        self.https_listen = https_listen
        self.api_host, self.api_upstream = api_host, api_upstream
        # Returns the control plane's PEM bundle (chain, key), "" while there is none.
        self.api_certificate = api_certificate
        self.listen = listen
        self.access_log = access_log
        self.response_timeout = response_timeout
        self.reload_timeout = reload_timeout
        self._loaded: tuple[str, str] | None = None

    # -- the table -------------------------------------------------------------------------

    def apply(self, routes: list[Route]) -> None:
        state = self._servers()
        slots = {
            r.app: slots_for(_needed(r, state.get(backend_name(r.app), [])),
                             len(state.get(backend_name(r.app), [])))
            for r in routes
        }
        shape = (self._config(routes, slots), render_hosts(routes))
        if self._loaded is None and self._on_disk() == shape:
            self._loaded = shape  # a restarted runtime: HAProxy already runs this file
        if shape != self._loaded:
            self._reload(*shape)
            self._loaded = shape
            state = self._servers()
        if self._sync(routes, state):
            self._save_servers()
        if self.https_listen:
            wanted = {r.app: r.certificate for r in routes if r.certificate}
            api_pem = self.api_certificate() if self.api_host and self.api_certificate else ""
            if api_pem:
                wanted[API_CERT] = api_pem
            self._certificates().sync(wanted)
            # After the certificates: a host is redirected only once HTTPS serves it.
            haproxy_tls.Redirects(self.paths, self._api).sync({
                host.lower() for r in routes if r.certificate and r.https_redirect
                for host in certnames.covered_hosts(r.certificate, r.hosts)
            } | set(certnames.covered_hosts(api_pem, [self.api_host.lower()])))

    def _config(self, routes: list[Route], slots: dict[str, int]) -> str:
        return render_config(routes, slots, self.paths, listen=self.listen,
                             response_timeout=self.response_timeout,
                             https_listen=self.https_listen, api_host=self.api_host,
                             api_upstream=self.api_upstream)

    def _on_disk(self) -> tuple[str, str] | None:
        try:
            return self.paths.config.read_text(), self.paths.hosts.read_text()
        except OSError:
            return None

    def _servers(self) -> dict[str, list[Slot]]:
        return parse_servers_state(runtime_api(self.paths.admin, "show servers state"))

    def _save_servers(self) -> None:
        write_atomically(self.paths.servers, runtime_api(self.paths.admin, "show servers state"))

    def _sync(self, routes: list[Route], state: dict[str, list[Slot]]) -> bool:
        """Fill and empty slots so each backend serves exactly its route's upstreams."""
        changed = False
        for route in routes:
            backend = backend_name(route.app)
            slots = state.get(backend, [])
            wanted = list(dict.fromkeys(route.upstreams))
            serving = {s.address: s for s in slots if s.address}
            free = [s for s in slots if not s.address]
            add = [a for a in wanted if a not in serving]
            remove = [s for a, s in serving.items() if a not in wanted]
            # New processes in first, old ones out after: never an empty backend between.
            commands = [_enable(backend, slot.name, address)
                        for slot, address in zip(free, add, strict=False)]
            commands += [f"set server {backend}/{slot.name} state maint" for slot in remove]
            if commands:
                self._run(commands)
                changed = True
        return changed

    def _run(self, commands: list[str]) -> None:
        for i in range(0, len(commands), 20):  # the CLI reads one line of at most ~16 kB
            answer = runtime_api(self.paths.admin, "; ".join(commands[i:i + 20]))
            for line in answer.splitlines():
                if line and not line.startswith(("IP changed", "no need to change")):
                    raise RouterUnavailable(f"HAProxy refused a server change: {line}")

    # -- HTTPS: certificates and ACME challenges, through the runtime API ------------------

    def _api(self, command: str) -> str:
        return runtime_api(self.paths.admin, command)

    def _certificates(self) -> haproxy_tls.Certificates:
        return haproxy_tls.Certificates(self.paths, self._api)

    def add_challenge(self, token: str, key_authorization: str) -> None:
        haproxy_tls.Challenges(self.paths, self._api).add(token, key_authorization)

    def remove_challenge(self, token: str) -> None:
        haproxy_tls.Challenges(self.paths, self._api).remove(token)

    # -- reloads ---------------------------------------------------------------------------

    def _reload(self, config: str, hosts: str) -> None:
        self._write_pages()
        haproxy_tls.prepare(self.paths)
        self._save_servers()
        write_atomically(self.paths.hosts, hosts)
        candidate = self.paths.config.with_name(self.paths.config.name + ".new")
        write_atomically(candidate, config)
        check = subprocess.run([haproxy_binary(), "-c", "-f", str(candidate)],
                               capture_output=True, text=True)
        if check.returncode != 0:
            alerts = [line for line in (check.stderr + check.stdout).splitlines()
                      if "ALERT" in line]
            raise RouterUnavailable("HAProxy rejected the routing config: " + " ".join(alerts))
        os.replace(candidate, self.paths.config)
        before = self._worker_pid()
        runtime_api(self.paths.master, "reload")
        deadline = time.monotonic() + self.reload_timeout
        while time.monotonic() < deadline:
            try:
                if self._worker_pid() != before:
                    return
            except RouterUnavailable:
                pass  # the new worker is taking over the socket
            time.sleep(0.05)
        raise RouterUnavailable("HAProxy did not load the new routing config in time; "
                                "see the router process's output")

    def _worker_pid(self) -> str:
        for line in runtime_api(self.paths.admin, "show info").splitlines():
            if line.startswith("Pid:"):
                return line.split(":", 1)[1].strip()
        return ""

    def _write_pages(self) -> None:
        for name, body in PAGES.items():
            write_atomically(self.paths.pages / name, body)

    # -- the router process ----------------------------------------------------------------

    def _prepare(self) -> list[str]:
        """Make sure there is a config to start from; return HAProxy's command line."""
        self._write_pages()
        haproxy_tls.prepare(self.paths)
        if self._on_disk() is None:
            write_atomically(self.paths.hosts, "")
            write_atomically(self.paths.config, self._config([], {}))
        return [haproxy_binary(), "-W", "-S", f"{self.paths.master},mode,600",
                "-f", str(self.paths.config)]

    def serve(self) -> int:
        """Run HAProxy as the router process, in the foreground, until a SIGTERM or SIGINT;
        start it again at once whenever it dies (see :mod:`runtime.router.haproxy_process`).
        Return its last exit status.

        Its access log comes through a pipe and is appended to ``access_log`` here:
        HAProxy makes stdout non-blocking, which drops a file's O_APPEND, so a reloaded
        worker would write over the start of the file. The pipe is this process's, so no
        line is lost while HAProxy restarts.
        """
        command = self._prepare()
        sockets = {haproxy_process.HTTP_SOCKET: haproxy_process.listening_socket(self.listen)}
        if self.https_listen:
            sockets[haproxy_process.HTTPS_SOCKET] = haproxy_process.listening_socket(
                self.https_listen)
        if self.access_log == "stdout":
            supervisor = haproxy_process.Supervisor(command, sockets)
            _forward_signals(supervisor)
            return supervisor.run()
        read, write = os.pipe()
        # A roomy pipe, read every 50 ms: HAProxy never blocks on it (a full pipe would
        # only drop log lines), and copying costs one wake-up per batch of requests.
        with contextlib.suppress(OSError):
            fcntl.fcntl(write, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        supervisor = haproxy_process.Supervisor(command, sockets, stdout=write)
        _forward_signals(supervisor)
        status = []

        def supervise() -> None:
            try:
                status.append(supervisor.run())
            finally:
                os.close(write)  # the copy below ends once HAProxy's last process is gone

        threading.Thread(target=supervise, name="haproxy").start()
        target = os.devnull if self.access_log == "discard" else self.access_log
        copy_lines(read, target, pause=0.05)
        return status[0] if status else 1

    def start(self, wait: float = 10.0, **popen: Any) -> subprocess.Popen:
        """Start :meth:`serve` in a child process and wait until HAProxy's API answers."""
        command = [sys.executable, "-m", "runtime.router.haproxy",
                   "--state-dir", str(self.paths.state_dir), "--listen", self.listen,
                   "--access-log", self.access_log, "--https-listen", self.https_listen,
                   "--api-host", self.api_host, "--api-upstream", self.api_upstream]
        process = subprocess.Popen(command, **popen)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RouterUnavailable(f"the router exited with status {process.returncode}")
            try:
                self._worker_pid()
                return process
            except RouterUnavailable:
                time.sleep(0.05)
        process.terminate()
        raise RouterUnavailable(f"HAProxy's runtime API did not come up at {self.paths.admin}")


def copy_lines(source: int, path: str, max_bytes: int = 64 << 20, pause: float = 0.0,
               notices: BinaryIO | None = None) -> None:
    """Append whole JSON lines read from ``source`` to ``path`` until EOF; other lines
    (HAProxy's own notices, such as "Proxy pier stopped" from a worker a reload replaced)
    go to ``notices``, stderr by default, so the access log holds requests only.

    Past ``max_bytes`` the file is renamed to ``path.1`` (replacing the previous one) and
    a new file is started; a reader following the old file finishes it first. ``pause``
    after each read lets lines gather in the pipe: one wake-up per batch, not per request.
    """
    notices = notices or sys.stderr.buffer
    rest = b""
    out = open(path, "ab")  # noqa: SIM115 - swapped on rotation
    try:
        while data := os.read(source, 1 << 20):
            time.sleep(pause)
            data, rest = rest + data, b""
            cut = data.rfind(b"\n") + 1
            data, rest = data[:cut], data[cut:]
            if data[:1] not in (b"{", b"") or NEXT_LINE_NOT_JSON.search(data):
                notices.write(b"".join(NOT_JSON_LINE.findall(data)))
                notices.flush()
                data = NOT_JSON_LINE.sub(b"", data)
            if data:
                out.write(data)
                out.flush()
            if path != os.devnull and out.tell() > max_bytes:
                out.close()
                os.replace(path, path + ".1")
                out = open(path, "ab")  # noqa: SIM115 - swapped on rotation
        out.write(rest)
    finally:
        out.close()


def _forward_signals(supervisor: haproxy_process.Supervisor) -> None:
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR2):
        signal.signal(signum, lambda number, _frame: supervisor.signal(number))


def _needed(route: Route, slots: list[Slot]) -> int:
    """Slots a change to ``route`` needs: its upstreams plus those still serving until it's done."""
    serving = {s.address for s in slots if s.address}
    return len(serving | set(route.upstreams))


def _enable(backend: str, slot: str, address: str) -> str:
    host, _, port = address.rpartition(":")
    server = f"{backend}/{slot}"
    return (f"set server {server} addr {host} port {port}; set server {server} state ready; "
            f"set server {server} health up")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runtime.router.haproxy",
                                     description="Run HAProxy as Pier's router process.")
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--listen", default=":8080")
    parser.add_argument("--access-log", default="stdout")
    parser.add_argument("--https-listen", default="", help="e.g. :8443; empty: no HTTPS")
    parser.add_argument("--api-host", default="", help="the control plane's host name")
    parser.add_argument("--api-upstream", default="", help="the control plane, e.g. 127.0.0.1:5000")
    args = parser.parse_args(argv)
    return Router(state_dir=args.state_dir, listen=args.listen, access_log=args.access_log,
                  https_listen=args.https_listen, api_host=args.api_host,
                  api_upstream=args.api_upstream).serve()


if __name__ == "__main__":
    sys.exit(main())
