"""Faults: requests failed per ``kill -9`` of each platform process, under a steady load.

Pier runs whole (``manage.py up``, as ``bench/deploy.py`` starts it) with one app: a tiny
Python server from a Procfile, web=1. Two load loops run all along, 20 GETs a second
each, every one on a new connection in its own thread: the app through the router
(``Host: <app>.localhost``) and the control plane's ``/api/health``. For each process --
the router (HAProxy's master), the runtime, the worker (Celery), the web process (the
control plane's gunicorn master) and Redis -- the bench waits 2 s, kills it with SIGKILL,
waits until a new one runs (``respawn.py``, or for HAProxy the router process) and 3 s
more, and counts the requests of each loop sent in that window that failed: refused
connections, requests cut mid-way, non-2xx answers. The baseline is the same loops over
5 s with no kill.

    .venv/bin/python bench/faults.py            # 3 kills of each
    .venv/bin/python bench/faults.py --quick    # 1 kill of each
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from _common import ROOT, machine_info, parse_count, require_docker, table, write_result
from deploy import Platform, git

sys.path.insert(0, str(ROOT))
from tests.helpers import platform_pids

RATE = 20.0  # requests a second per loop, the load
# Each platform process: the words of its command line; its parent is not one of its own.
PROCESSES = {
    "router": ("haproxy", "-W"),
    "runtime": ("manage.py", "runtime"),
    "worker": ("celery", "worker"),
    "web": ("gunicorn", "pier.asgi"),
    "redis": ("redis-server",),
}


class Loop:
    """GET ``url`` RATE times a second, each on a new connection, each in its own thread
    (a slow answer never lowers the offered load); classify every failure."""

    def __init__(self, url: str, host: str = ""):
        self.url, self.headers = url, ({"Host": host} if host else {})
        self.outcomes: list[tuple[float, str]] = []  # (time sent, "ok" | kind of failure)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        import httpx

        limits = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(timeout=10, limits=limits) as client:
            began, sent = time.monotonic(), 0
            while not self.stopped.wait(max(0.0, began + sent / RATE - time.monotonic())):
                threading.Thread(target=self._one, args=(client,), daemon=True).start()
                sent += 1
            time.sleep(10)  # the last requests' timeout, before the client closes

    def _one(self, client) -> None:
        import httpx

        sent = time.monotonic()
        try:
            code = client.get(self.url, headers=self.headers).status_code
            outcome = "ok" if code < 400 else f"http {code}"
        except httpx.ConnectError:
            outcome = "refused"
        except httpx.TransportError as e:
            outcome = f"cut ({type(e).__name__})"
        self.outcomes.append((sent, outcome))

    def window(self, start: float, end: float) -> dict:
        seen = [o for t, o in self.outcomes if start <= t < end]
        failed = [o for o in seen if o != "ok"]
        return {"requests": len(seen), "failed": len(failed),
                "kinds": {k: failed.count(k) for k in sorted(set(failed))}}


def kill_once(platform: Platform, name: str) -> dict:
    words = PROCESSES[name]
    time.sleep(2)
    deadline = time.monotonic() + 60  # the previous kill's process may still be starting
    while (len(found := platform_pids(platform.data_dir, *words)) != 1
           and time.monotonic() < deadline):
        time.sleep(0.2)
    if len(found) != 1:
        raise RuntimeError(f"{name}: {len(found)} processes running {' '.join(words)}")
    [victim] = found
    start = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    deadline = start + 60
    while (time.monotonic() < deadline
           and platform_pids(platform.data_dir, *words) in ([], [victim])):
        time.sleep(0.05)
    back = time.monotonic() - start
    time.sleep(3)
    end = time.monotonic()
    return {"back_s": round(back, 2), "window": (start, end)}


# Python's http.server with a listen backlog of 1024: with its default of 5, 20 new
# connections a second on a loaded box overflow it, a SYN is dropped, HAProxy's connect
# times out after 1 s and marks the only process down (503s for 0.5 s): the app's limit,
# measured in every window alike, not the kill's.
APP = (
    "web: python3 -c 'import http.server, os; http.server.ThreadingHTTPServer.request_queue_size"
    " = 1024; http.server.ThreadingHTTPServer((\"0.0.0.0\", int(os.environ[\"PORT\"])), "
    "type(\"H\", (http.server.BaseHTTPRequestHandler,), {\"do_GET\": lambda s: "
    "(s.send_response(200), s.end_headers(), s.wfile.write(b\"faults\"))})).serve_forever()'\n"
)


def deploy_app(platform: Platform, tmp: Path) -> str:
    app = f"faults-{uuid.uuid4().hex[:6]}"
    platform.create_app(app)
    repo = tmp / app
    repo.mkdir()
    git("init", "-q", "--initial-branch=main", cwd=repo)
    (repo / "Procfile").write_text(APP)
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "faults", cwd=repo)
    push = git("push", platform.git_url(app), "HEAD:main", cwd=repo)
    if push.returncode != 0:
        raise RuntimeError(f"git push failed:\n{push.stderr[-3000:]}")
    return app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _, kills = parse_count(parser, "kills", quick=1, full=3,
                           quick_help="one kill of each process", help="kills of each process")
    require_docker()
    import docker

    from builds.engine import ensure_stack_images

    ensure_stack_images(progress=lambda line: None)  # built once, before the clock starts
    info = machine_info()
    results: dict[str, list[dict]] = {name: [] for name in PROCESSES}
    with tempfile.TemporaryDirectory(prefix="pier-faults-") as tmp:
        platform = Platform(Path(tmp))
        try:
            print("starting the platform (manage.py up)...", flush=True)
            platform.start()
            app = deploy_app(platform, Path(tmp))
            loops = {"app": Loop(f"http://127.0.0.1:{platform.router_port}/", f"{app}.localhost"),
                     "api": Loop(f"{platform.url}/api/health")}
            for loop in loops.values():
                loop.thread.start()
            time.sleep(5)
            quiet = (time.monotonic(), time.monotonic() + 5)
            time.sleep(5)
            for round_ in range(kills):  # interleaved: one kill of each process per round
                for name in PROCESSES:
                    results[name].append(kill_once(platform, name))
                    print(f"round {round_ + 1}: {name} killed", flush=True)
            for loop in loops.values():
                loop.stopped.set()
            time.sleep(10)  # every request sent has its answer (or its timeout)
            baseline = {k: loop.window(*quiet) for k, loop in loops.items()}
            for samples in results.values():
                for sample in samples:
                    window = sample.pop("window")
                    sample.update({k: loop.window(*window) for k, loop in loops.items()})
        except Exception:
            print(f"the platform's output ended with:\n{platform.log.read_text()[-4000:]}")
            raise
        finally:
            platform.stop()
            platform.remove_app_containers(docker.from_env())
    info["loadavg_at_end"] = list(os.getloadavg())

    summary = {}
    for name, samples in results.items():
        summary[name] = {
            loop: {"failed_per_kill_mean": round(statistics.mean(failed), 2),
                   "failed_per_kill_max": max(failed),
                   "requests_in_windows": sum(s[loop]["requests"] for s in samples)}
            for loop in ("app", "api")
            for failed in [[s[loop]["failed"] for s in samples]]
        }
        summary[name]["back_s_median"] = statistics.median(s["back_s"] for s in samples)
    print(table(["killed", "app failed/kill", "max", "api failed/kill", "max",
                 "seen back, s"],
                [[name, s["app"]["failed_per_kill_mean"], s["app"]["failed_per_kill_max"],
                  s["api"]["failed_per_kill_mean"], s["api"]["failed_per_kill_max"],
                  s["back_s_median"]] for name, s in summary.items()]))
    print(f"baseline (no kill, 5 s): {baseline}")
    path = write_result("faults", {
        "benchmark": "faults",
        "machine": info,
        "method": {
            "load": f"two loops of {RATE:g} GETs a second, each on a new connection in its own "
                    "thread: the app through the router, and the control plane's /api/health",
            "back_s": "until a new process was seen by polling /proc (slow on a loaded machine):"
                      " an upper bound of the restart time",
            "kill": "SIGKILL of the process, after 2 s of load; the window runs from the kill "
                    "until a new process runs plus 3 s",
            "processes": {k: " ".join(v) for k, v in PROCESSES.items()},
            "kills_each": kills,
        },
        "target_from_issue": {"router": "zero refused connections, routes intact"},
        "baseline_no_kill": baseline,
        "summary": summary,
        "samples": results,
    })
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
