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

Rounds are interleaved (every target once per round, order rotated) and the median per
target is reported, with ratios against ``direct`` and ``nginx`` of the same run: this
machine is small and shared, absolute numbers drift, ratios much less.

    .venv/bin/python bench/router.py            # 3 rounds of 10 s per target
    .venv/bin/python bench/router.py --quick    # 1 round of 3 s
    .venv/bin/python bench/router.py --variants caddy-pier   # fewer Caddy variants
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from _common import free_port, machine_info, ratio, table, wait_port, write_result

from runtime.router.base import Route
from runtime.router.caddy import build_config, caddy_binary, start_caddy
from runtime.router.haproxy import Router as HAProxyRouter
from runtime.router.haproxy import haproxy_binary

VENV_BIN = Path(sys.executable).parent
APPS = ("wsgi", "django", "static")

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
    server {{
        listen 127.0.0.1:{port} default_server;
        server_name _;
        return 404;
    }}
{servers}
}}
"""

NGINX_UPSTREAM = """\
    upstream {name} {{
        server 127.0.0.1:{port};
        keepalive 32;
    }}
"""

NGINX_SERVER = """\
    server {{
        listen 127.0.0.1:{port};
        server_name {name}.localhost;
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
                access_log: bool = False) -> subprocess.Popen:
    """nginx as the reference; ``access_log`` writes nginx's default log (as Pier's router
    logs every request), otherwise it is off (the issue's baseline)."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    upstreams = "".join(NGINX_UPSTREAM.format(name=n, port=p) for n, p in app_ports.items())
    servers = "".join(NGINX_SERVER.format(name=n, port=port) for n in app_ports)
    conf = tmp / f"{name}.conf"
    conf.write_text(NGINX_CONF.format(
        tmp=tmp, name=name, port=port, upstreams=upstreams, servers=servers,
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


def run_wrk(port: int, host: str, duration: float, *, threads=2, connections=32) -> dict:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration:g}s", "--latency",
               "-H", f"Host: {host}", f"http://127.0.0.1:{port}/"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 30)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)


def tree_cpu_seconds(pid: int) -> float:
    """User+system CPU seconds of a process and all its descendants (nginx's workers; the
    HAProxy router's wrapper, master and workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    pids, seen = [pid], 0
    while seen < len(pids):
        parent, seen = pids[seen], seen + 1
        try:
            children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
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


# -- main --------------------------------------------------------------------------------


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
    parser.add_argument("--variants",
                        help="comma-separated caddy variants, or none (default: all)")
    args = parser.parse_args()
    duration = args.duration or (3.0 if args.quick else 10.0)
    rounds = args.rounds or (1 if args.quick else 3)
    variants = args.variants.split(",") if args.variants else list(VARIANTS)
    variants = [v for v in variants if v != "none"]  # --variants none: no Caddy at all
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool) and not Path(f"/usr/sbin/{tool}").exists():
            sys.exit(f"{tool} is missing: apt-get install -y wrk nginx-light")

    info = machine_info()
    info["caddy"] = subprocess.run([caddy_binary(), "version"], capture_output=True,
                                   text=True).stdout.strip()
    info["nginx"] = subprocess.run(["nginx", "-v"], capture_output=True,
                                   text=True).stderr.strip()
    info["haproxy"] = subprocess.run([haproxy_binary(), "-v"], capture_output=True,
                                     text=True).stdout.splitlines()[0]
    processes: list[subprocess.Popen] = []
    tmp = Path(tempfile.mkdtemp(prefix="pier-bench-router-"))
    try:
        write_apps(tmp)
        app_log = open(tmp / "gunicorn.log", "wb")  # closed with tmp
        app_ports = {app: free_port() for app in APPS}
        processes += start_gunicorn(tmp, "wsgiapp:application", app_ports["wsgi"], app_log)
        processes += start_gunicorn(tmp, "benchsite.wsgi:application", app_ports["django"],
                                    app_log)
        processes.append(start_static(tmp, app_ports["static"], app_log))
        targets: dict[str, int] = {"direct": 0}  # 0: the app's own port
        proxy_pid: dict[str, int] = {}
        nginx_port = free_port()
        processes.append(start_nginx(tmp, nginx_port, app_ports))
        targets["nginx"] = nginx_port
        proxy_pid["nginx"] = processes[-1].pid
        nginx_log_port = free_port()
        processes.append(start_nginx(tmp, nginx_log_port, app_ports, name="nginx-log",
                                     access_log=True))
        targets["nginx-log"] = nginx_log_port
        proxy_pid["nginx-log"] = processes[-1].pid
        routes = [Route(app=f"bench-{app}", hosts=(f"{app}.localhost",),
                        upstreams=(f"127.0.0.1:{p}",)) for app, p in app_ports.items()]
        haproxy_port = free_port()
        haproxy = HAProxyRouter(state_dir=tmp / "haproxy", listen=f"127.0.0.1:{haproxy_port}",
                                access_log=str(tmp / "haproxy-access.log"))
        haproxy_log = open(tmp / "haproxy.log", "wb")  # closed with tmp
        processes.append(haproxy.start(stderr=haproxy_log, start_new_session=True))
        haproxy.apply(routes)
        targets["haproxy-pier"] = haproxy_port
        proxy_pid["haproxy-pier"] = processes[-1].pid
        for variant in variants:
            process, port = start_caddy_variant(variant, routes, tmp)
            processes.append(process)
            targets[variant] = port
            proxy_pid[variant] = process.pid

        expect = {"wsgi": "Hello, world!", "django": "Item 19", "static": "Hello, world!"}
        for app in APPS:
            for port in targets.values():
                check_answers(port or app_ports[app], f"{app}.localhost", expect[app])

        print(f"router bench: {rounds} round(s) x {duration:g}s, wrk -t2 -c32, "
              f"{len(targets)} targets x {len(APPS)} apps, nproc={info['nproc']}")
        samples: dict[str, dict[str, list[dict]]] = {a: {t: [] for t in targets} for a in APPS}
        names = list(targets)
        for r in range(rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            for app in APPS:
                for name in order:
                    port = targets[name] or app_ports[app]
                    run_wrk(port, f"{app}.localhost", 1.0)  # warm up connections and caches
                    pid = proxy_pid.get(name)
                    cpu0 = tree_cpu_seconds(pid) if pid else 0.0
                    sample = run_wrk(port, f"{app}.localhost", duration)
                    if pid and sample["requests"]:
                        used = tree_cpu_seconds(pid) - cpu0
                        sample["proxy_cpu_us_per_req"] = round(used / sample["requests"] * 1e6, 1)
                    samples[app][name].append(sample)
                    print(f"  round {r + 1} {app:6} {name:20} {sample['rps']:9.0f} req/s  "
                          f"p50 {sample['p50_ms']:7.2f} ms  p99 {sample['p99_ms']:7.2f} ms"
                          + (f"  proxy cpu {sample['proxy_cpu_us_per_req']:5.0f} us/req"
                             if "proxy_cpu_us_per_req" in sample else "")
                          + (f"  errors {sample['non_2xx'] + sample['socket_errors']}"
                             if sample['non_2xx'] + sample['socket_errors'] else ""),
                          flush=True)

        results: dict = {}
        for app in APPS:
            results[app] = {}
            for name in targets:
                runs = samples[app][name]
                results[app][name] = {
                    "rps": round(statistics.median(s["rps"] for s in runs), 1),
                    "p50_ms": round(statistics.median(s["p50_ms"] for s in runs), 3),
                    "p99_ms": round(statistics.median(s["p99_ms"] for s in runs), 3),
                    "errors": sum(s["non_2xx"] + s["socket_errors"] for s in runs),
                    "proxy_cpu_us_per_req": (
                        round(statistics.median(s["proxy_cpu_us_per_req"] for s in runs), 1)
                        if all("proxy_cpu_us_per_req" in s for s in runs) else None),
                    "runs": runs,
                }
            direct = results[app]["direct"]["rps"]
            nginx = results[app]["nginx"]["rps"]
            nginx_log = results[app]["nginx-log"]["rps"]
            for name in targets:
                entry = results[app][name]
                entry["vs_direct"] = ratio(entry["rps"], direct)
                entry["vs_nginx"] = ratio(entry["rps"], nginx)
                entry["vs_nginx_log"] = ratio(entry["rps"], nginx_log)

        for app in APPS:
            rows = []
            for name in targets:
                e = results[app][name]
                cpu = e["proxy_cpu_us_per_req"]
                rows.append([name, f"{e['rps']:,.0f}", e["p50_ms"], e["p99_ms"],
                             f"{e['vs_direct']:.3f}", f"{e['vs_nginx']:.3f}",
                             f"{e['vs_nginx_log']:.3f}",
                             f"{cpu:.0f}" if cpu is not None else "-", e["errors"]])
            print(f"\n{app} (median of {rounds}; targets: >= 0.80x direct, >= 0.95x nginx)")
            print(table(["target", "req/s", "p50 ms", "p99 ms", "x direct", "x nginx",
                         "x nginx+log", "proxy us/req", "errors"], rows))

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

        path = write_result("router", {
            "benchmark": "router",
            "machine": info,
            "method": {
                "wrk": f"wrk -t2 -c32 -d{duration:g}s --latency -H 'Host: <app>.localhost'",
                "rounds": rounds, "aggregate": "median per target over interleaved rounds",
                "apps": "2 gunicorns x 1 gthread worker x 4 threads on one 127.0.0.1 port "
                        "(SO_REUSEPORT) "
                        "(wsgi: 13-byte hello; django: small template page); static: HAProxy "
                        "answering 13 bytes itself, so the proxy in front is measured alone",
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
        print(f"\nwrote {path}")
        return 0
    finally:
        for process in reversed(processes):
            stop(process)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
