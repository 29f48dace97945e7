"""Scale-out time: desired web=N until N processes answer through the router.

Real parts, as tests/integration/runtime uses them: the Docker backend (containers on the
``pier-apps`` bridge, no published ports), the platform's router (``DEFAULT_ROUTER``,
HAProxy) really running and configured by its ``Router``, and the ``Reconciler``, driven
the way ``runtime.loop.run_forever`` drives it (one pass, then the next after
``busy_interval`` while something is pending).

Each process is a busybox httpd (image ``pier/test-busybox:1``, made like the integration
tests make it) serving its own DYNO name, so "N processes behind the router" is checked by
asking the router until N different dyno names came back.

Scenarios, each from a clean slate (containers removed by label in between):

- ``web=1``: a fresh app with one web process (the baseline),
- ``web=20``: a fresh app with twenty,
- ``scale 1->20``: an app already serving web=1, scaled to twenty.

    .venv/bin/python bench/scale.py             # 3 repetitions of each
    .venv/bin/python bench/scale.py --quick     # 1 repetition
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from _common import free_port, machine_info, parse_count, ratio, require_docker, table, write_result

# The integration tests' image, imported by the same code (tests/ is on sys.path via _common).
from tests.integration.runtime.rt_helpers import IMAGE, busybox_image

SERVE = ('mkdir -p /tmp/www && echo "$DYNO" > /tmp/www/index.html && '
         "exec httpd -f -p $PORT -h /tmp/www")
BUSY_INTERVAL = 1.0  # runtime.loop.run_forever's default between passes while pending
TARGET_SECONDS = 10.0


def make_app(name: str, web: int):
    from runtime.desired import DesiredApp, HealthCheck, ProcessSpec

    return DesiredApp(
        name=name, release=1, image=IMAGE,
        formation=(ProcessSpec("web", web, SERVE, memory_mb=64, max_processes=64),),
        healthcheck=HealthCheck(boot_timeout=60.0), stop_grace=2.0,
    )


def dynos_answering(client, port: int, host: str, want: int) -> set[str]:
    """Ask the router up to 3*want times; return the dyno names that answered."""
    import httpx

    seen: set[str] = set()
    for _ in range(3 * want):
        try:
            response = client.get(f"http://127.0.0.1:{port}/", headers={"Host": host})
        except httpx.HTTPError:
            continue
        if response.status_code == 200:
            seen.add(response.text.strip())
            if len(seen) >= want:
                break
    return seen


def converge_until_served(reconciler, desired, port: int, host: str, want: int,
                          timeout: float = 120.0) -> dict:
    """Run reconcile passes like run_forever until ``want`` dynos answer through the router."""
    import httpx

    start = time.monotonic()
    passes = 0
    first_pass = None
    with httpx.Client(timeout=5) as client:
        while time.monotonic() - start < timeout:
            result = reconciler.reconcile(desired)
            passes += 1
            if first_pass is None:
                first_pass = time.monotonic() - start
            if result.errors:
                print(f"    reconcile errors: {result.errors}", flush=True)
            # Between passes the app is polled often, so the time is not rounded up to a pass.
            next_pass = time.monotonic() + (BUSY_INTERVAL if result.pending else 5.0)
            while True:
                if len(dynos_answering(client, port, host, want)) >= want:
                    return {"seconds": round(time.monotonic() - start, 3), "passes": passes,
                            "first_pass_seconds": round(first_pass, 3)}
                if time.monotonic() >= next_pass:
                    break
                time.sleep(0.05)
    raise RuntimeError(f"{want} dynos did not answer through the router in {timeout:g}s")


def remove_labelled(client, label: str) -> int:
    containers = client.containers.list(all=True, filters={"label": f"pier.bench={label}"})
    for container in containers:
        container.remove(force=True)
    return len(containers)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--web", type=int, default=20, help="the large formation (default 20)")
    args, repeat = parse_count(parser, "repeat", quick=1, full=3,
                               quick_help="one repetition of each",
                               help="repetitions of each scenario")
    require_docker()

    import docker

    from runtime.backends.docker import Backend
    from runtime.reconciler import Reconciler
    from runtime.router import DEFAULT_ROUTER, load_router

    client = docker.from_env()
    busybox_image(client, missing=sys.exit)
    label = uuid.uuid4().hex[:8]
    tmp = Path(tempfile.mkdtemp(prefix="pier-bench-scale-"))
    port = free_port()
    router_log = open(tmp / "router.log", "wb")  # closed in finally
    router_process = None
    info = machine_info()
    samples: dict[str, list[dict]] = {"web=1": [], f"web={args.web}": [],
                                      f"scale 1->{args.web}": []}
    try:
        router = load_router(DEFAULT_ROUTER, state_dir=tmp / "router",
                             listen=f"127.0.0.1:{port}", access_log=str(tmp / "access.log"))
        router_process = router.start(stdout=router_log, stderr=router_log)
        backend = Backend(client=client, labels={"pier.bench": label},
                          name_prefix=f"pier-bench-{label}-")
        print(f"scale bench: {repeat} repetition(s), busybox httpd, nproc={info['nproc']}")
        for r in range(repeat):
            for scenario in samples:
                app = f"bench-scale-{uuid.uuid4().hex[:6]}"
                host = f"{app}.localhost"
                reconciler = Reconciler(backend, router, domain="localhost")
                if scenario.startswith("scale"):
                    converge_until_served(reconciler, [make_app(app, 1)], port, host, 1)
                    want = args.web
                elif scenario == "web=1":
                    want = 1
                else:
                    want = args.web
                sample = converge_until_served(reconciler, [make_app(app, want)], port, host,
                                               want)
                samples[scenario].append(sample)
                print(f"  rep {r + 1} {scenario:14} {sample['seconds']:7.2f} s  "
                      f"({sample['passes']} reconcile passes)", flush=True)
                # A clean slate for the next scenario (the stop path is not measured).
                reconciler.executor.shutdown(wait=True)
                remove_labelled(client, label)

        results = {}
        for scenario, runs in samples.items():
            results[scenario] = {
                "median_seconds": round(statistics.median(s["seconds"] for s in runs), 3),
                "min_seconds": min(s["seconds"] for s in runs),
                "max_seconds": max(s["seconds"] for s in runs),
                "median_first_pass_seconds": round(
                    statistics.median(s["first_pass_seconds"] for s in runs), 3),
                "runs": runs,
            }
        base = results["web=1"]["median_seconds"]
        for entry in results.values():
            entry["vs_web1"] = ratio(entry["median_seconds"], base)
        rows = [[name, e["median_seconds"], e["min_seconds"], e["max_seconds"],
                 e["median_first_pass_seconds"], f"{e['vs_web1']:.2f}",
                 "yes" if e["median_seconds"] < TARGET_SECONDS else "NO"]
                for name, e in results.items()]
        print(f"\nseconds until every process answers through the router "
              f"(median of {repeat}; target < {TARGET_SECONDS:g} s)")
        print(table(["scenario", "median s", "min s", "max s", "1st pass s", "x web=1",
                     "< 10 s"], rows))
        print("(1st pass s: the first Reconciler.reconcile call alone, which creates and "
              "starts the containers)")
        big = results[f"web={args.web}"]["median_seconds"]
        path = write_result("scale", {
            "benchmark": "scale",
            "machine": info,
            "method": {
                "engine": "runtime.backends.docker.Backend (pier-apps bridge, no ports)",
                "router": f"{DEFAULT_ROUTER}, really running (config + runtime API)",
                "driver": f"Reconciler.reconcile passes, next pass {BUSY_INTERVAL:g}s after a "
                          "pending one (run_forever's busy_interval); router polled every "
                          "50 ms in between",
                "done_when": "N distinct DYNO names answered through the router",
                "image": f"{IMAGE} (busybox httpd)",
                "repeat": repeat,
            },
            "target_seconds": TARGET_SECONDS,
            "meets_target": big < TARGET_SECONDS,
            "results": results,
        })
        print(f"\nwrote {path}")
        return 0
    finally:
        try:
            removed = remove_labelled(client, label)
            if removed:
                print(f"removed {removed} leftover container(s)")
        finally:
            if router_process:
                router_process.terminate()
                try:
                    router_process.wait(10)
                except subprocess.TimeoutExpired:
                    router_process.kill()
            router_log.close()
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
