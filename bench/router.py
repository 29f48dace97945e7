"""Router throughput and latency: direct vs nginx vs Pier's routers (HAProxy, Caddy).

Two apps run on the host, bound to 127.0.0.1 (the issue's baseline, "with the app on the
host network"), each under two one-worker gthread gunicorns sharing the port (see
start_gunicorn for why not one gunicorn with two workers):

- ``wsgi``: a trivial WSGI callable answering 13 bytes,
- ``django``: a tiny generated Django project rendering a small template page,
- ``static``: no Python at all, a one-thread HAProxy answering 13 bytes by itself: with
  the app out of the way, the proxies' own CPU per request is measured most sharply.

Every target is measured with ``wrk -t2 -c32 -d10s --latency`` (requests/s, p50, p99):

- ``direct``: wrk straight to gunicorn,
- ``nginx``: a generated nginx config (upstream keepalive 32, proxy_http_version 1.1,
  access_log off), the bar Caddy has to clear,
- ``haproxy-pier``: Pier's router, ``runtime.router.haproxy.Router`` started and fed the
  table exactly as the platform does (access log through its pipe to a file),
- ``caddy-pier``: Caddy with exactly ``runtime.router.caddy.build_config(...)`` and the
  access log to a file, as ``manage.py router`` runs it,
- ``caddy-*``: the same config with one change each (see VARIANTS).

HTTPS (results in bench/results/router-https.json): Pier's HAProxy router with its HTTPS
listener, certificates installed by ``Router.apply`` as the runtime does, against nginx
terminating TLS for the same apps with the same certificates (self-signed ECDSA P-256) and
the same TLS settings (haproxy_tls.CIPHERS/CIPHERSUITES, TLS 1.2 and 1.3, no tickets),
``nginx-tls`` with its access log off and ``nginx-tls-log`` with it on:

- keep-alive requests/s, ``wrk -t2 -c32`` over HTTPS with the app's host as SNI,
- new TLS connections/s: full handshakes with ``openssl s_time -new`` (TLS 1.3, TLS 1.2),
  and wrk with ``Connection: close`` (a new connection per request, which wrk resumes:
  see run_s_time and https_part for why that is not counted as a full handshake),
- certificate installation: from ``Router.apply`` with a new certificate to the first
  HTTPS 200 serving it (see certificate_install).

Rounds are interleaved (every target once per round, order rotated) and the median per
target is reported, with ratios against ``direct`` and ``nginx`` of the same run: this
machine is small and shared, absolute numbers drift, ratios much less.

    .venv/bin/python bench/router.py            # 3 rounds of 10 s per target
    .venv/bin/python bench/router.py --quick    # 1 round of 3 s
    .venv/bin/python bench/router.py --variants caddy-pier   # fewer Caddy variants
    .venv/bin/python bench/router.py --only https --rounds 5 --duration 5
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from _common import free_port, machine_info, ratio, table, wait_port, write_result

from runtime.router import haproxy_tls
from runtime.router.base import Route
from runtime.router.caddy import build_config, caddy_binary, start_caddy
from runtime.router.haproxy import Router as HAProxyRouter
from runtime.router.haproxy import haproxy_binary, runtime_api
from runtime.router.haproxy_paths import Paths

VENV_BIN = Path(sys.executable).parent
APPS = ["wsgi", "django", "static"]  # --apps narrows it
RESULT_SUFFIX = [""]  # "-loaded" with --load: bench/results/router-loaded.json
BUSY_METHOD = ("one `python3 -c 'while True: pass'` per core (nice 0) all along, as other "
               "work on a small box: the proxies compete for the CPU with it")

WSGI_APP = '''\
def application(environ, start_response):
    body = b"Hello, world!"
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
'''

DJANGO_SETTINGS = '''\
SECRET_KEY = "bench-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["django.contrib.staticfiles"]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "benchsite.urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [__import__("pathlib").Path(__file__).parent / "templates"],
}]
WSGI_APPLICATION = "benchsite.wsgi.application"
DATABASES = {}
USE_TZ = True
STATIC_URL = "static/"
'''

DJANGO_URLS = '''\
from django.shortcuts import render
from django.urls import path


def index(request):
    items = [{"n": i, "name": f"item {i}"} for i in range(20)]
    return render(request, "index.html", {"title": "Pier bench", "items": items})


urlpatterns = [path("", index)]
'''

DJANGO_WSGI = '''\
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchsite.settings")
application = get_wsgi_application()
'''

DJANGO_TEMPLATE = '''\
<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body><h1>{{ title }}</h1>
<ul>{% for item in items %}<li id="i{{ item.n }}">{{ item.name|title }}</li>{% endfor %}</ul>
</body></html>
'''


def write_apps(root: Path) -> None:
    (root / "wsgiapp.py").write_text(WSGI_APP)
    site = root / "benchsite"
    (site / "templates").mkdir(parents=True)
    (site / "__init__.py").write_text("")
    (site / "settings.py").write_text(DJANGO_SETTINGS)
    (site / "urls.py").write_text(DJANGO_URLS)
    (site / "wsgi.py").write_text(DJANGO_WSGI)
    (site / "templates" / "index.html").write_text(DJANGO_TEMPLATE)


def start_gunicorn(root: Path, module: str, port: int, log) -> list[subprocess.Popen]:
    """Two one-worker gunicorns sharing ``port`` through SO_REUSEPORT, 4 threads each.

    Not one gunicorn with 2 workers: those share one listening socket, and whichever worker
    wakes first often accepts all 32 keep-alive connections, leaving the other idle; the
    app's throughput then flips between one and two cores from run to run (seen here:
    32/0 splits at ~530 req/s, 16/16 at ~1,000). With a socket each, the kernel spreads
    connections between them, for wrk and for every proxy alike.
    """
    processes = [
        subprocess.Popen([
            str(VENV_BIN / "gunicorn"), module, "--chdir", str(root),
            "--bind", f"127.0.0.1:{port}", "--reuse-port", "--workers", "1",
            "--worker-class", "gthread", "--threads", "4",
            "--keep-alive", "30", "--log-level", "warning",
        ], stdout=log, stderr=log, start_new_session=True)
        for _ in range(2)
    ]
    wait_port("127.0.0.1", port)
    return processes


STATIC_CONF = """\
global
    nbthread 1
defaults
    mode http
    timeout client 30s
    timeout server 30s
    timeout connect 1s
frontend static
    bind 127.0.0.1:{port}
    http-request return status 200 content-type text/plain string "Hello, world!"
"""


def start_static(tmp: Path, port: int, log) -> subprocess.Popen:
    """The ``static`` app: HAProxy answering by itself, ~20 us a request, so a proxy in
    front of it is measured almost alone (its CPU per request is the sharpest number)."""
    conf = tmp / "static.cfg"
    conf.write_text(STATIC_CONF.format(port=port))
    process = subprocess.Popen([haproxy_binary(), "-f", str(conf)], stdout=log, stderr=log,
                               start_new_session=True)
    wait_port("127.0.0.1", port)
    return process


# -- nginx -------------------------------------------------------------------------------

NGINX_CONF = """\
worker_processes 2;
pid {tmp}/{name}.pid;
error_log {tmp}/{name}-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log {access_log};
    client_body_temp_path {tmp}/{name}-client_body;
    proxy_temp_path {tmp}/{name}-proxy;
    fastcgi_temp_path {tmp}/{name}-fastcgi;
    uwsgi_temp_path {tmp}/{name}-uwsgi;
    scgi_temp_path {tmp}/{name}-scgi;
{upstreams}
{tls}
    server {{
        listen 127.0.0.1:{port} default_server{ssl};
        server_name _;
{default_server}
    }}
{servers}
}}
"""

# The same TLS as Pier's router (runtime/router/haproxy_tls.py: Mozilla "intermediate",
# TLS 1.2 and 1.3, no session tickets), with Mozilla's session cache for nginx.
NGINX_TLS = """\
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers {ciphers};
    ssl_conf_command Ciphersuites {ciphersuites};
    ssl_prefer_server_ciphers off;
    ssl_session_cache shared:bench:10m;
    ssl_session_timeout 1d;
    ssl_session_tickets off;
"""

NGINX_UPSTREAM = """\
    upstream {name} {{
        server 127.0.0.1:{port};
        keepalive 32;
    }}
"""

NGINX_SERVER = """\
    server {{
        listen 127.0.0.1:{port}{ssl};
        server_name {name}.localhost;{certificate}
        location / {{
            proxy_pass http://{name};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_read_timeout 30s;
        }}
    }}
"""


def start_nginx(tmp: Path, port: int, app_ports: dict[str, int], *, name: str = "nginx",
                access_log: bool = False, certs: dict[str, Path] | None = None
                ) -> subprocess.Popen:
    """nginx as the reference; ``access_log`` writes nginx's default log (as Pier's router
    logs every request), otherwise it is off (the issue's baseline). With ``certs`` (app
    -> PEM file, certificate then key, and DEFAULT_CERT for clients naming no known host)
    it terminates TLS on ``port`` instead of HTTP."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    ssl = " ssl" if certs else ""
    upstreams = "".join(NGINX_UPSTREAM.format(name=n, port=p) for n, p in app_ports.items())
    servers = "".join(
        NGINX_SERVER.format(name=n, port=port, ssl=ssl, certificate=(
            f"\n        ssl_certificate {certs[n]};\n        ssl_certificate_key {certs[n]};"
            if certs else ""))
        for n in app_ports)
    tls = NGINX_TLS.format(ciphers=haproxy_tls.CIPHERS,
                           ciphersuites=haproxy_tls.CIPHERSUITES) if certs else ""
    conf = tmp / f"{name}.conf"
    conf.write_text(NGINX_CONF.format(
        tmp=tmp, name=name, port=port, upstreams=upstreams, servers=servers, tls=tls, ssl=ssl,
        # A client naming no known host gets the default certificate, as with HAProxy.
        default_server=(f"        ssl_certificate {certs[DEFAULT_CERT]};\n"
                        f"        ssl_certificate_key {certs[DEFAULT_CERT]};\n" if certs
                        else "") + "        return 404;",
        access_log=f"{tmp}/{name}-access.log" if access_log else "off"))
    log = open(tmp / f"{name}-stdout.log", "wb")  # lives as long as nginx
    process = subprocess.Popen(
        [nginx, "-p", str(tmp), "-e", str(tmp / f"{name}-error.log"), "-c", str(conf),
         "-g", "daemon off;"],
        stdout=log, stderr=log, start_new_session=True,
    )
    wait_port("127.0.0.1", port)
    return process


# -- Caddy variants ----------------------------------------------------------------------


def _proxies(config: dict):
    """Yield every reverse_proxy handler in a config built by build_config."""
    for route in config["apps"]["http"]["servers"]["pier"]["routes"]:
        for handler in route.get("handle", []):
            for sub in handler.get("routes", []):
                for inner in sub.get("handle", []):
                    if inner.get("handler") == "reverse_proxy":
                        yield inner


def keepalive(n: int) -> Callable[[dict], None]:
    def change(config: dict) -> None:
        for proxy in _proxies(config):
            proxy["transport"]["keep_alive"] = {
                "max_idle_conns_per_host": n, "idle_timeout": "5m",
            }
    return change


def flush_interval(config: dict) -> None:
    for proxy in _proxies(config):
        proxy["flush_interval"] = -1


def bare_proxy(config: dict) -> None:
    """Only host match + reverse_proxy: what Pier's extras (request id, logs...) cost."""
    server = config["apps"]["http"]["servers"]["pier"]
    routes = []
    for route in server["routes"]:
        proxies = []
        for handler in route.get("handle", []):
            for sub in handler.get("routes", []):
                for inner in sub.get("handle", []):
                    if inner.get("handler") == "reverse_proxy":
                        proxies.append({"handler": "reverse_proxy",
                                        "upstreams": inner["upstreams"]})
        if proxies:
            routes.append({"match": route["match"], "handle": proxies, "terminal": True})
    server["routes"] = routes
    server.pop("logs", None)
    server.pop("errors", None)


# name -> (access_log: "file"|"discard", extra environment, config change, what it tries)
VARIANTS: dict[str, tuple[str, dict[str, str], Callable[[dict], None] | None, str]] = {
    "caddy-pier": ("file", {}, None, "build_config as manage.py router runs it (log to file)"),
    "caddy-log-discard": ("discard", {}, None, "access log to discard"),
    "caddy-gomaxprocs1": ("file", {"GOMAXPROCS": "1"}, None, "GOMAXPROCS=1"),
    "caddy-gogc400": ("file", {"GOGC": "400"}, None, "GOGC=400 (less GC work)"),
    "caddy-keepalive128": ("file", {}, keepalive(128),
                           "transport keep_alive max_idle_conns_per_host=128"),
    "caddy-flush-1": ("file", {}, flush_interval, "flush_interval=-1"),
    "caddy-bare": ("discard", {}, bare_proxy,
                   "plain reverse_proxy only, no Pier extras, no access log"),
    "caddy-tuned": ("file", {"GOMAXPROCS": "1", "GOGC": "400"}, None,
                    "Pier's config and file log, with GOMAXPROCS=1 GOGC=400"),
}


def caddy_config(variant: str, routes: list[Route], admin: str, port: int,
                 tmp: Path) -> tuple[dict, dict[str, str]]:
    access, env, change, _ = VARIANTS[variant]
    access_log = str(tmp / f"{variant}-access.log") if access == "file" else access
    config = build_config(routes, admin=admin, listen=f"127.0.0.1:{port}",
                          access_log=access_log)
    if change:
        config = copy.deepcopy(config)
        change(config)
    return config, env


def start_caddy_variant(variant: str, routes: list[Route], tmp: Path) -> tuple:
    admin, port = f"127.0.0.1:{free_port()}", free_port()
    config, extra_env = caddy_config(variant, routes, admin, port, tmp)
    path = tmp / f"{variant}.json"
    path.write_text(json.dumps(config, indent=1))
    log = open(tmp / f"{variant}-caddy.log", "wb")  # lives as long as caddy
    env = {**os.environ, **extra_env}
    process = start_caddy(path, admin=admin, listen=f"127.0.0.1:{port}", stdout=log,
                          stderr=log, env=env, start_new_session=True)
    wait_port("127.0.0.1", port)
    return process, port


# -- wrk -----------------------------------------------------------------------------------

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * UNITS[unit]


def parse_wrk(output: str) -> dict:
    result: dict = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", output)
    result["rps"] = float(m.group(1)) if m else 0.0
    for pct in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", output, re.M)
        result[f"p{pct}_ms"] = round(_ms(m.group(1)), 3) if m else None
    m = re.search(r"(\d+) requests in", output)
    result["requests"] = int(m.group(1)) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    result["non_2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                  output)
    result["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    if m:  # wrk counts a reply slower than 2 s as a "timeout": overload, not a failure
        result["socket_error_kinds"] = dict(zip(("connect", "read", "write", "timeout"),
                                                (int(x) for x in m.groups()), strict=True))
    return result


# wrk takes the TLS server name (SNI) from the URL's host, and resolves that host: this
# makes it connect to 127.0.0.1 whatever the name, so "<app>.localhost" needs no DNS.
# Only wrk.resolve is replaced: no request/response function, so wrk stays on its fast path.
WRK_LOCAL_SCRIPT = """\
wrk.resolve = function(host, service)
   wrk.addrs = wrk.lookup("127.0.0.1", service)
end
"""


def run_wrk(port: int, host: str, duration: float, *, threads=2, connections=32,
            tls_script: Path | None = None, close: bool = False) -> dict:
    """Run wrk against 127.0.0.1:port; with ``tls_script`` (WRK_LOCAL_SCRIPT in a file)
    over HTTPS with ``host`` as SNI; with ``close`` a new connection for every request."""
    url = (f"https://{host}:{port}/" if tls_script else f"http://127.0.0.1:{port}/")
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration:g}s", "--latency",
               "-H", f"Host: {host}", *(["-H", "Connection: close"] if close else []),
               *(["-s", str(tls_script)] if tls_script else []), url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 30)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)


S_TIME_CLIENTS = 4  # s_time does one handshake at a time: 4 at once keep the proxy busy


def run_s_time(port: int, duration: float, version: str) -> dict:
    """New TLS connections per second with full handshakes: ``S_TIME_CLIENTS`` parallel
    ``openssl s_time -new`` (a new SSL object for every connection, so no session is ever
    offered for resumption), handshake then close, no HTTP request. s_time sends no SNI:
    both proxies answer with their default certificate, also an ECDSA P-256 one."""
    seconds = max(1, round(duration))
    command = ["openssl", "s_time", "-connect", f"127.0.0.1:{port}", "-new",
               "-time", str(seconds), f"-{version}"]
    started = time.monotonic()
    clients = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True) for _ in range(S_TIME_CLIENTS)]
    rate, connections, errors = 0.0, 0, 0
    for client in clients:
        out, err = client.communicate(timeout=seconds + 30)
        elapsed = time.monotonic() - started  # s_time stops within a second after -time
        m = re.search(r"(\d+) connections in [\d.]+s;", out)
        if client.returncode != 0 or not m:
            errors += 1
            print(f"    s_time failed ({client.returncode}): {(err or out).strip()[-300:]}")
            continue
        connections += int(m.group(1))
        rate += int(m.group(1)) / elapsed
    return {"rps": round(rate, 2), "p50_ms": None, "p99_ms": None, "requests": connections,
            "non_2xx": 0, "socket_errors": errors}


def tree_cpu_seconds(pid: int) -> float:
    """User+system CPU seconds of a process and all its descendants (nginx's workers; the
    HAProxy router's wrapper, master and workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    pids, seen = [pid], 0
    while seen < len(pids):
        parent, seen = pids[seen], seen + 1
        try:  # every thread's: the router process starts HAProxy from its second one
            children = [c for task in Path(f"/proc/{parent}/task").iterdir()
                        for c in (task / "children").read_text().split()]
        except OSError:
            continue
        pids += [int(c) for c in children]
    total = 0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def check_answers(port: int, host: str, expect: str) -> None:
    """One request with curl-like plainness, to be sure the target serves the right app."""
    import httpx

    response = httpx.get(f"http://127.0.0.1:{port}/", headers={"Host": host}, timeout=10)
    if response.status_code != 200 or expect not in response.text:
        raise RuntimeError(f"{host} on :{port} answered {response.status_code}: "
                           f"{response.text[:200]!r}")


def https_get(port: int, host: str, timeout: float = 5.0) -> tuple[int, str, str]:
    """GET / over a new TLS connection to 127.0.0.1:port with ``host`` as SNI; return the
    status, the body and the SHA-256 fingerprint of the certificate the server sent."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # self-signed: the fingerprint is what is checked
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw, \
            context.wrap_socket(raw, server_hostname=host) as tls:
        fingerprint = hashlib.sha256(tls.getpeercert(binary_form=True)).hexdigest()
        connection = http.client.HTTPConnection(host, timeout=timeout)
        connection.sock = tls  # already connected: request() sends on it
        connection.request("GET", "/", headers={"Host": host, "Connection": "close"})
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace"), fingerprint


def pem_fingerprint(pem: str) -> str:
    """SHA-256 of the first certificate of a PEM bundle, as https_get reports it."""
    first = pem[:pem.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")]
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(first)).hexdigest()


def check_https(port: int, host: str, expect: str, fingerprint: str) -> None:
    status, body, served = https_get(port, host)
    if status != 200 or expect not in body or served != fingerprint:
        raise RuntimeError(f"{host} on :{port} over HTTPS answered {status} with certificate "
                           f"{served[:16]} (want {fingerprint[:16]}): {body[:200]!r}")


# -- measuring -----------------------------------------------------------------------------


def measure(targets: dict[str, dict[str, int]], apps: tuple[str, ...], rounds: int,
            duration: float, proxy_pid: dict[str, int],
            run: Callable[[int, str, float], dict]) -> dict[str, dict[str, list[dict]]]:
    """Run ``run(port, app, seconds)`` for every target and app, rounds interleaved (every
    target once per round, order rotated), each after a 1 s warm-up; with the proxy's CPU
    per request where its pid is known. ``targets`` maps a name to each app's port."""
    samples: dict[str, dict[str, list[dict]]] = {a: {t: [] for t in targets} for a in apps}
    names = list(targets)
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for app in apps:
            for name in order:
                port = targets[name][app]
                run(port, app, 1.0)  # warm up connections and caches
                pid = proxy_pid.get(name)
                cpu0 = tree_cpu_seconds(pid) if pid else 0.0
                sample = run(port, app, duration)
                if pid and sample["requests"]:
                    used = tree_cpu_seconds(pid) - cpu0
                    sample["proxy_cpu_us_per_req"] = round(used / sample["requests"] * 1e6, 1)
                samples[app][name].append(sample)
                errors = sample["non_2xx"] + sample["socket_errors"]
                print(f"  round {r + 1} {app:6} {name:20} {sample['rps']:9.0f} req/s"
                      + (f"  p50 {sample['p50_ms']:7.2f} ms  p99 {sample['p99_ms']:7.2f} ms"
                         if sample["p50_ms"] is not None else "")
                      + (f"  proxy cpu {sample['proxy_cpu_us_per_req']:5.0f} us/req"
                         if "proxy_cpu_us_per_req" in sample else "")
                      + (f"  errors {errors}" if errors else ""), flush=True)
    return samples


def summarise(samples: dict[str, dict[str, list[dict]]],
              baselines: dict[str, str]) -> dict:
    """Medians per app and target, with ``vs_<key>`` ratios against each baseline target."""
    results: dict = {}
    for app, by_target in samples.items():
        results[app] = {}
        for name, runs in by_target.items():
            results[app][name] = {
                "rps": round(statistics.median(s["rps"] for s in runs), 1),
                **{key: (round(statistics.median(s[key] for s in runs), 3)
                         if all(s[key] is not None for s in runs) else None)
                   for key in ("p50_ms", "p99_ms")},
                "errors": sum(s["non_2xx"] + s["socket_errors"] for s in runs),
                "proxy_cpu_us_per_req": (
                    round(statistics.median(s["proxy_cpu_us_per_req"] for s in runs), 1)
                    if all("proxy_cpu_us_per_req" in s for s in runs) else None),
                "runs": runs,
            }
        for entry in results[app].values():
            for key, baseline in baselines.items():
                entry[f"vs_{key}"] = ratio(entry["rps"], results[app][baseline]["rps"])
    return results


def print_tables(results: dict, baselines: dict[str, str], title: str) -> None:
    for app, by_target in results.items():
        rows = []
        for name, e in by_target.items():
            cpu = e["proxy_cpu_us_per_req"]
            rows.append([name, f"{e['rps']:,.0f}", e["p50_ms"], e["p99_ms"],
                         *(f"{e[f'vs_{key}']:.3f}" for key in baselines),
                         f"{cpu:.0f}" if cpu is not None else "-", e["errors"]])
        print(f"\n{app}: {title}")
        print(table(["target", "req/s", "p50 ms", "p99 ms",
                     *(f"x {baseline}" for baseline in baselines.values()),
                     "proxy us/req", "errors"], rows))


def start_pier_router(tmp: Path, name: str, routes: list[Route],
                      processes: list[subprocess.Popen], *, https: bool = False
                      ) -> tuple[HAProxyRouter, int]:
    """Pier's router as the platform runs it (access log through its pipe to a file), in
    ``tmp/name`` and fed ``routes``; return it and the port to measure (with ``https``, its
    HTTPS listener)."""
    port = free_port()
    listen = f"127.0.0.1:{free_port() if https else port}"
    router = HAProxyRouter(state_dir=tmp / name, listen=listen,
                           access_log=str(tmp / f"{name}-access.log"),
                           https_listen=f"127.0.0.1:{port}" if https else "")
    log = open(tmp / f"{name}.log", "wb")  # closed with tmp
    processes.append(router.start(stderr=log, start_new_session=True))
    router.apply(routes)
    return router, port


# -- HTTP ----------------------------------------------------------------------------------


def http_part(tmp: Path, app_ports: dict[str, int], info: dict, variants: list[str],
              rounds: int, duration: float, processes: list[subprocess.Popen]) -> Path:
    """Plain HTTP: direct vs nginx (log off, on) vs Pier's HAProxy vs Caddy variants."""
    targets: dict[str, dict[str, int]] = {"direct": dict(app_ports)}
    proxy_pid: dict[str, int] = {}
    for name, access_log in (("nginx", False), ("nginx-log", True)):
        port = free_port()
        processes.append(start_nginx(tmp, port, app_ports, name=name, access_log=access_log))
        targets[name] = dict.fromkeys(APPS, port)
        proxy_pid[name] = processes[-1].pid
    routes = [Route(app=f"bench-{app}", hosts=(f"{app}.localhost",),
                    upstreams=(f"127.0.0.1:{p}",)) for app, p in app_ports.items()]
    _, haproxy_port = start_pier_router(tmp, "haproxy", routes, processes)
    targets["haproxy-pier"] = dict.fromkeys(APPS, haproxy_port)
    proxy_pid["haproxy-pier"] = processes[-1].pid
    for variant in variants:
        process, port = start_caddy_variant(variant, routes, tmp)
        processes.append(process)
        targets[variant] = dict.fromkeys(APPS, port)
        proxy_pid[variant] = process.pid

    for app in APPS:
        for ports in targets.values():
            check_answers(ports[app], f"{app}.localhost", EXPECT[app])

    print(f"router bench, HTTP: {rounds} round(s) x {duration:g}s, wrk -t2 -c32, "
          f"{len(targets)} targets x {len(APPS)} apps, nproc={info['nproc']}")
    samples = measure(targets, APPS, rounds, duration, proxy_pid,
                      lambda port, app, seconds: run_wrk(port, f"{app}.localhost", seconds))
    baselines = {"direct": "direct", "nginx": "nginx", "nginx_log": "nginx-log"}
    results = summarise(samples, baselines)
    print_tables(results, baselines, f"median of {rounds}; targets: >= 0.80x direct, "
                                     ">= 0.95x nginx")

    def verdict_for(target: str) -> dict:
        pier = {app: results[app].get(target) for app in APPS}
        return {
            app: {
                "vs_direct": pier[app]["vs_direct"] if pier[app] else None,
                "vs_nginx": pier[app]["vs_nginx"] if pier[app] else None,
                "meets_direct_target": bool(pier[app] and pier[app]["vs_direct"] >= 0.8),
                "meets_nginx_target": bool(pier[app] and pier[app]["vs_nginx"] >= 0.95),
            } for app in APPS
        }

    return write_result("router" + RESULT_SUFFIX[0], {
        "benchmark": "router",
        "machine": info,
        "method": {
            "wrk": f"wrk -t2 -c32 -d{duration:g}s --latency -H 'Host: <app>.localhost'",
            "rounds": rounds, "aggregate": "median per target over interleaved rounds",
            "apps": APPS_METHOD,
            "nginx": "worker_processes 2, upstream keepalive 32, proxy_http_version 1.1, "
                     "access_log off",
            "targets": {"direct": "wrk straight to gunicorn",
                        "nginx": "generated nginx config, access log off",
                        "nginx-log": "the same with nginx's default access log on, "
                                     "as Pier's router logs every request",
                        "haproxy-pier": "runtime.router.haproxy.Router, as the platform "
                                        "runs it (access log through its pipe to a file)",
                        **{v: VARIANTS[v][3] for v in variants}},
        },
        "targets_from_issue": {"vs_direct": ">= 0.8", "vs_nginx": ">= 0.95"},
        "verdict_haproxy_pier": verdict_for("haproxy-pier"),
        "verdict_caddy_pier": verdict_for("caddy-pier"),
        "results": results,
    })


# -- HTTPS ---------------------------------------------------------------------------------


def haproxy_info(router: HAProxyRouter) -> dict[str, str]:
    """HAProxy's ``show info`` counters (TLS connections, session cache lookups...)."""
    answer = runtime_api(router.paths.admin, "show info")
    return dict(line.split(": ", 1) for line in answer.splitlines() if ": " in line)


def certificate_install(router: HAProxyRouter, routes: list[Route], https_port: int,
                        repetitions: int) -> dict:
    """Seconds from Router.apply with a route carrying a new certificate (as the runtime
    calls it once a certificate is issued) until an HTTPS request naming the app's host
    answers 200 with that certificate: its first certificate (``new ssl cert``, then
    ``add ssl crt-list``) and a renewal (``set ssl cert`` + ``commit``), no reload."""
    route = next(r for r in routes if r.app == "bench-static")
    host, others = route.hosts[0], [r for r in routes if r is not route]
    cases: dict[str, list[dict]] = {"first": [], "renewal": []}
    for _ in range(repetitions):
        for case in cases:
            if case == "first":  # the app has no certificate yet: remove it, untimed
                router.apply([*others, replace(route, certificate="")])
            pem = haproxy_tls.self_signed_pem(host)  # "issued": before the clock starts
            fingerprint = pem_fingerprint(pem)
            start = time.monotonic()
            router.apply([*others, replace(route, certificate=pem)])
            applied = time.monotonic()
            attempts = 0
            while True:
                attempts += 1
                status, _, served = https_get(https_port, host)
                if status == 200 and served == fingerprint:
                    break
                if time.monotonic() - start > 30:
                    raise RuntimeError(f"{host} still serves {served[:16]} ({status}) 30 s "
                                       "after its new certificate was applied")
            done = time.monotonic()
            cases[case].append({"apply_s": round(applied - start, 4),
                                "first_200_s": round(done - start, 4), "attempts": attempts})
    return {
        case: {
            "median_s": round(statistics.median(r["first_200_s"] for r in runs), 4),
            "max_s": round(max(r["first_200_s"] for r in runs), 4),
            "apply_median_s": round(statistics.median(r["apply_s"] for r in runs), 4),
            "repetitions": len(runs),
            "runs": runs,
        } for case, runs in cases.items()
    }


def https_part(tmp: Path, app_ports: dict[str, int], info: dict, rounds: int,
               duration: float, cert_repetitions: int,
               processes: list[subprocess.Popen]) -> Path:
    """HTTPS: Pier's HAProxy vs nginx terminating TLS, same certificates and TLS settings."""
    pems = {app: haproxy_tls.self_signed_pem(f"{app}.localhost") for app in APPS}
    pems[DEFAULT_CERT] = haproxy_tls.self_signed_pem("pier-default")
    cert_files = {}
    for name, pem in pems.items():
        cert_files[name] = tmp / "certs" / f"{name}.pem"
        cert_files[name].parent.mkdir(exist_ok=True)
        cert_files[name].write_text(pem)
    state_dir = tmp / "haproxy-tls"
    tls_paths = Paths(state_dir)
    tls_paths.state_dir.mkdir()  # the router makes its default certificate only if missing
    tls_paths.default_cert.write_text(pems[DEFAULT_CERT])
    targets: dict[str, dict[str, int]] = {}
    proxy_pid: dict[str, int] = {}
    for name, access_log in (("nginx-tls", False), ("nginx-tls-log", True)):
        port = free_port()
        processes.append(start_nginx(tmp, port, app_ports, name=name, access_log=access_log,
                                     certs=cert_files))
        targets[name] = dict.fromkeys(APPS, port)
        proxy_pid[name] = processes[-1].pid
    routes = [Route(app=f"bench-{app}", hosts=(f"{app}.localhost",),
                    upstreams=(f"127.0.0.1:{p}",), certificate=pems[app])
              for app, p in app_ports.items()]
    haproxy, https_port = start_pier_router(tmp, state_dir.name, routes, processes,
                                            https=True)
    targets["haproxy-pier"] = dict.fromkeys(APPS, https_port)
    proxy_pid["haproxy-pier"] = processes[-1].pid
    for app in APPS:
        for ports in targets.values():
            check_https(ports[app], f"{app}.localhost", EXPECT[app],
                        pem_fingerprint(pems[app]))
    script = tmp / "wrk-local.lua"
    script.write_text(WRK_LOCAL_SCRIPT)

    print(f"router bench, HTTPS keep-alive: {rounds} round(s) x {duration:g}s, wrk -t2 -c32, "
          f"{len(targets)} targets x {len(APPS)} apps, nproc={info['nproc']}")
    samples = measure(targets, APPS, rounds, duration, proxy_pid,
                      lambda port, app, seconds: run_wrk(port, f"{app}.localhost", seconds,
                                                         tls_script=script))
    baselines = {"nginx": "nginx-tls", "nginx_log": "nginx-tls-log"}
    keepalive = summarise(samples, baselines)
    print_tables(keepalive, baselines, f"HTTPS keep-alive, median of {rounds}; target: "
                                       ">= 0.95x nginx")

    handshake_runs = {
        "full-tls1.3": (f"{S_TIME_CLIENTS} x openssl s_time -new -tls1_3 (no SNI, no HTTP)",
                        lambda port, app, seconds: run_s_time(port, seconds, "tls1_3")),
        "full-tls1.2": (f"{S_TIME_CLIENTS} x openssl s_time -new -tls1_2 (no SNI, no HTTP)",
                        lambda port, app, seconds: run_s_time(port, seconds, "tls1_2")),
        # wrk's SSL_clear keeps the session, so its next connection offers it: resumed.
        "reconnect-resumed": ("wrk -t2 -c32 -H 'Connection: close': one GET per TCP+TLS "
                              "connection, resumed from the proxy's session cache",
                              lambda port, app, seconds: run_wrk(
                                  port, f"{app}.localhost", seconds, tls_script=script,
                                  close=True)),
    }
    handshakes, honesty = {}, {}
    for kind, (how, run) in handshake_runs.items():
        print(f"\nrouter bench, new TLS connections ({kind}): {rounds} round(s) x "
              f"{duration:g}s, {how}")
        before = haproxy_info(haproxy)
        samples = measure(targets, HANDSHAKE_APPS, rounds, duration, proxy_pid, run)
        after = haproxy_info(haproxy)
        handshakes[kind] = summarise(samples, baselines)
        print_tables(handshakes[kind], baselines,
                     f"{kind} connections/s, median of {rounds}; target: >= 0.90x nginx")
        # What HAProxy saw over these runs (warm-ups included): TLS connections, and the
        # session-cache lookups a client offering a session to resume causes.
        honesty[kind] = {
            counter: int(after.get(counter, 0)) - int(before.get(counter, 0))
            for counter in ("CumSslConns", "SslCacheLookups", "SslCacheMisses")
        }
        honesty[kind]["measured_connections"] = sum(
            s["requests"] for s in samples["static"]["haproxy-pier"])
        print(f"  HAProxy's counters over these runs: {honesty[kind]}")

    print(f"\ncertificate installation to first HTTPS 200 ({cert_repetitions} repetitions "
          "each, Router.apply then new TLS connections until the new certificate answers)")
    install = certificate_install(haproxy, routes, https_port, cert_repetitions)
    print(table(["case", "median ms", "max ms", "apply median ms", "repetitions"],
                [[case, *(f"{r[key] * 1000:.1f}" for key in ("median_s", "max_s",
                                                            "apply_median_s")),
                  r["repetitions"]] for case, r in install.items()]))

    def verdict(by_target: dict, target: float) -> dict:
        """Throughput against nginx with its log on, and the same ratio computed from CPU
        per request (requests a core could serve), which a loaded machine disturbs less."""
        pier, nginx_log = by_target["haproxy-pier"], by_target["nginx-tls-log"]
        return {"vs_nginx_log": pier["vs_nginx_log"], "vs_nginx": pier["vs_nginx"],
                "meets_target": bool(pier["vs_nginx_log"] and pier["vs_nginx_log"] >= target),
                "cpu_us_per_req": pier["proxy_cpu_us_per_req"],
                "nginx_log_cpu_us_per_req": nginx_log["proxy_cpu_us_per_req"],
                "per_core_vs_nginx_log": ratio(nginx_log["proxy_cpu_us_per_req"],
                                               pier["proxy_cpu_us_per_req"])}

    return write_result("router-https" + RESULT_SUFFIX[0], {
        "benchmark": "router-https",
        "machine": info,
        "method": {
            "wrk_keepalive": f"wrk -t2 -c32 -d{duration:g}s --latency "
                             "https://<app>.localhost:<port>/ (SNI <app>.localhost, "
                             "connected to 127.0.0.1 by a resolve-only Lua script)",
            "handshakes": {kind: how for kind, (how, _) in handshake_runs.items()},
            "handshakes_why": "full handshakes are the target's measure: openssl s_time "
                              "-new makes a new SSL object per connection and never offers "
                              "a session (SslCacheLookups stays 0), while wrk with "
                              "'Connection: close' reuses its SSL object (SSL_clear keeps "
                              "the session), so its reconnects are resumptions: cheaper, "
                              "reported apart as reconnect-resumed",
            "rounds": rounds, "aggregate": "median per target over interleaved rounds",
            "apps": APPS_METHOD,
            "certificate": "one self-signed ECDSA P-256 certificate per app host, "
                           "made by haproxy_tls.self_signed_pem (cryptography), served by "
                           "both proxies",
            "tls": "both: TLS 1.2 + 1.3, Mozilla intermediate ciphers "
                   f"({haproxy_tls.CIPHERS}; {haproxy_tls.CIPHERSUITES}), no session "
                   "tickets; wrk negotiates TLS 1.3 with X25519, HTTP/1.1",
            "nginx": "worker_processes 2, upstream keepalive 32, ssl_session_cache "
                     "shared 10m, ssl_prefer_server_ciphers off",
            "targets": {"nginx-tls": "nginx terminating TLS, access log off (reference)",
                        "nginx-tls-log": "the same with nginx's default access log on: the "
                                         "fair comparison, Pier's router logs every request",
                        "haproxy-pier": "runtime.router.haproxy.Router with https_listen, "
                                        "certificates installed by Router.apply through "
                                        "HAProxy's runtime API, access log to a file"},
            "certificate_install": certificate_install.__doc__.split("\n\n")[0].strip(),
        },
        "targets_from_issue": {"https_keepalive_vs_nginx": ">= 0.95",
                               "handshakes_vs_nginx": ">= 0.9",
                               "certificate_install_s": "< 1"},
        "verdict_haproxy_pier": {
            "keepalive": {app: verdict(keepalive[app], 0.95) for app in APPS},
            "handshakes": {kind: verdict(results["static"], 0.9)
                           for kind, results in handshakes.items()},
            "certificate_install": {case: {"median_s": r["median_s"], "max_s": r["max_s"],
                                           "meets_target": r["max_s"] < 1.0}
                                    for case, r in install.items()},
        },
        "haproxy_counters_over_handshake_runs": honesty,
        "keepalive": keepalive,
        "handshakes": handshakes,
        "certificate_install": install,
    })


# -- main --------------------------------------------------------------------------------

EXPECT = {"wsgi": "Hello, world!", "django": "Item 19", "static": "Hello, world!"}
DEFAULT_CERT = "default"  # what a TLS client naming no known host gets
HANDSHAKE_APPS = ("static",)  # the app out of the way: the handshakes are what costs
APPS_METHOD = ("2 gunicorns x 1 gthread worker x 4 threads on one 127.0.0.1 port "
               "(SO_REUSEPORT) (wsgi: 13-byte hello; django: small template page); static: "
               "HAProxy answering 13 bytes itself, so the proxy in front is measured alone")


def busy_processes() -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)
            for _ in range(os.cpu_count() or 1)]


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 round of 3 s per target")
    parser.add_argument("--duration", type=float, help="seconds per wrk run (default 10)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 3)")
    parser.add_argument("--only", choices=("http", "https"),
                        help="run one part only (default: both)")
    parser.add_argument("--variants",
                        help="comma-separated caddy variants, or none (default: all)")
    parser.add_argument("--load", action="store_true",
                        help="a busy process per core all along: the router on a loaded box")
    parser.add_argument("--apps", help=f"comma-separated subset of {','.join(APPS)}")
    parser.add_argument("--cert-repetitions", type=int,
                        help="certificate installations timed per case (default 10)")
    args = parser.parse_args()
    duration = args.duration or (3.0 if args.quick else 10.0)
    rounds = args.rounds or (1 if args.quick else 3)
    cert_repetitions = args.cert_repetitions or (3 if args.quick else 10)
    variants = args.variants.split(",") if args.variants else list(VARIANTS)
    variants = [v for v in variants if v != "none"]  # --variants none: no Caddy at all
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool) and not Path(f"/usr/sbin/{tool}").exists():
            sys.exit(f"{tool} is missing: apt-get install -y wrk nginx-light")

    info = machine_info()
    if variants and args.only != "https":
        info["caddy"] = subprocess.run([caddy_binary(), "version"], capture_output=True,
                                       text=True).stdout.strip()
    info["nginx"] = subprocess.run(["nginx", "-v"], capture_output=True,
                                   text=True).stderr.strip()
    info["haproxy"] = subprocess.run([haproxy_binary(), "-v"], capture_output=True,
                                     text=True).stdout.splitlines()[0]
    info["openssl"] = ssl.OPENSSL_VERSION
    if args.apps:
        APPS[:] = [app for app in APPS if app in args.apps.split(",")]
    processes: list[subprocess.Popen] = []
    if args.load:
        processes += busy_processes()
        info["background_load"] = BUSY_METHOD
        RESULT_SUFFIX[0] = "-loaded"
    tmp = Path(tempfile.mkdtemp(prefix="pier-bench-router-"))
    try:
        write_apps(tmp)
        app_log = open(tmp / "gunicorn.log", "wb")  # closed with tmp
        app_ports = {app: free_port() for app in APPS}
        if "wsgi" in APPS:
            processes += start_gunicorn(tmp, "wsgiapp:application", app_ports["wsgi"], app_log)
        if "django" in APPS:
            processes += start_gunicorn(tmp, "benchsite.wsgi:application", app_ports["django"],
                                        app_log)
        if "static" in APPS:
            processes.append(start_static(tmp, app_ports["static"], app_log))
        written = []
        if args.only != "https":
            written.append(http_part(tmp, app_ports, info, variants, rounds, duration,
                                     processes))
        if args.only != "http":
            written.append(https_part(tmp, app_ports, info, rounds, duration,
                                      cert_repetitions, processes))
        print("\nwrote " + ", ".join(str(path) for path in written))
        return 0
    finally:
        for process in reversed(processes):
            stop(process)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
