"""Apps across a 3-node Swarm vs on one host: deploy, scale out, node loss, routing.

Real parts: a 3-node Swarm with a registry in network namespaces on this machine
(``scripts/swarm-cluster.sh``, as the tests build it), the Swarm backend, HAProxy as
Pier's router on this host, the reconciler driven as ``runtime.loop`` drives it
(``bench/scale.py``'s loop), busybox httpd processes serving their own DYNO name. The
one-host baseline in the same run: the Docker backend on this host's engine.

- ``deploy``: an image on the builder until web=3 answer through the router. One host:
  the image is local. Cluster: pushed to the registry (warm: its layer is there already,
  as layer reuse keeps a redeploy) and pulled by every node (cold: removed from the
  nodes first). Target: cluster <= 1.3x one host.
- ``web=30``: a fresh app until 30 processes across 3 nodes answer (target < 10 s), and
  on this host's engine as the same run's baseline.
- ``node loss``: web=6 over 3 nodes, one node's daemon killed; until 6 processes answer
  again, none on the lost node (target < 10 s; heartbeat 1 s).
- ``router``: ``wrk -t2 -c16`` through the router to one web process on a node (another
  machine to the router: each node is its own namespace) vs one on this host's engine
  (target >= 0.9x).

    .venv/bin/python bench/cluster.py           # 3 repetitions
    .venv/bin/python bench/cluster.py --quick   # 1 repetition
Needs root (namespaces), dockerd, docker-registry, wrk, haproxy, busybox-static.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from _common import free_port, machine_info, ratio, require_docker, table, write_result
from scale import IMAGE, busybox_image, converge_until_served, make_app

from tests.helpers import busybox_tar
from tests.swarm_cluster import NET, PREFIX, Cluster, unavailable_reason

CHANGES = ['CMD ["/bin/sh"]']


def wrk_rps(port: int, host: str, seconds: int = 5) -> float:
    out = subprocess.run(
        ["wrk", "-t2", "-c16", f"-d{seconds}s", "-H", f"Host: {host}",
         f"http://127.0.0.1:{port}/"], capture_output=True, text=True, check=True).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def on_node(backend, app: str) -> list[str]:
    return [p.node for p in backend.list_processes(app) if p.state == "up"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one repetition")
    args = parser.parse_args()
    repeat = 1 if args.quick else 3
    if reason := unavailable_reason():
        sys.exit(reason)
    require_docker()

    import docker

    from runtime.backends.docker import Backend as DockerBackend
    from runtime.backends.swarm import Backend as SwarmBackend
    from runtime.reconciler import Reconciler
    from runtime.router import DEFAULT_ROUTER, load_router

    info = machine_info()
    cluster = Cluster(prefix=PREFIX, net=NET, size=3)
    cluster.script("down")
    started = time.monotonic()
    cluster.script("up", "3")
    cluster.wait_ready()
    info["cluster_up_seconds"] = round(time.monotonic() - started, 2)
    host_client = docker.from_env()
    busybox_image(host_client)
    label = uuid.uuid4().hex[:8]
    tmp = Path(tempfile.mkdtemp(prefix="pier-bench-cluster-"))
    port = free_port()
    router = load_router(DEFAULT_ROUTER, state_dir=tmp / "router", listen=f"127.0.0.1:{port}",
                         access_log=str(tmp / "access.log"))
    router_log = open(tmp / "router.log", "wb")  # closed in finally
    router_process = router.start(stdout=router_log, stderr=router_log)
    single = DockerBackend(client=host_client, labels={"pier.bench": label},
                           name_prefix=f"pier-bench-{label}-")
    swarm = SwarmBackend(client=cluster.client(1), labels={"pier.bench": label},
                         name_prefix=f"pb-{label}-", isolate_host=False)
    samples: dict[str, list[float]] = {"deploy one host": [], "deploy 3 nodes": [],
                                       "web=30 one host": [], "web=30 on 3 nodes": [],
                                       "node loss": []}
    rps: dict[str, list[float]] = {"same host": [], "other node": []}
    tar = busybox_tar("/bin/busybox")

    def fresh(backend, web: int, image: str = IMAGE):
        app = f"bench-cl-{uuid.uuid4().hex[:6]}"
        reconciler = Reconciler(backend, router, domain="localhost")
        return app, reconciler, dataclasses.replace(make_app(app, web), image=image)

    def clean() -> None:
        for backend in (single, swarm):
            for p in backend.list_processes():
                backend.remove(p)

    try:
        print(f"cluster bench: {repeat} repetition(s), cluster up in "
              f"{info['cluster_up_seconds']} s", flush=True)
        for r in range(repeat):
            app, reconciler, desired = fresh(single, 3)
            samples["deploy one host"].append(converge_until_served(
                reconciler, [desired], port, f"{app}.localhost", 3)["seconds"])
            clean()

            ref = f"{cluster.registry}/pier/bench-cluster:{r}"
            for i in range(1, 4):  # every node pulls (cold); the registry has the layer
                for tag in (ref, f"{cluster.registry}/pier/bench-cluster:{r - 1}"):
                    subprocess.run(["docker", "-H", cluster.docker_host(i), "rmi", "-f", tag],
                                   capture_output=True)
            t0 = time.monotonic()
            cluster.push(tar, f"pier/bench-cluster:{r}", CHANGES)
            app, reconciler, desired = fresh(swarm, 3, ref)
            converge_until_served(reconciler, [desired], port, f"{app}.localhost", 3)
            samples["deploy 3 nodes"].append(round(time.monotonic() - t0, 3))
            clean()

            # Every node is another machine to the router here (each its own namespace).
            for backend, where, image in ((single, "same host", IMAGE),
                                          (swarm, "other node", ref)):
                app, reconciler, desired = fresh(backend, 1, image)
                converge_until_served(reconciler, [desired], port, f"{app}.localhost", 1)
                rps[where].append(wrk_rps(port, f"{app}.localhost"))
                clean()

            for backend, where, image in ((single, "web=30 one host", IMAGE),
                                          (swarm, "web=30 on 3 nodes", ref)):
                app, reconciler, desired = fresh(backend, 30, image)
                samples[where].append(converge_until_served(
                    reconciler, [desired], port, f"{app}.localhost", 30,
                    timeout=600)["seconds"])
                clean()

            app, reconciler, desired = fresh(swarm, 6, ref)
            converge_until_served(reconciler, [desired], port, f"{app}.localhost", 6)
            cluster.kill(3)
            t0 = time.monotonic()
            while cluster.hostname(3) in on_node(swarm, app) or len(on_node(swarm, app)) < 6:
                reconciler.reconcile([desired])
                time.sleep(0.2)
            converge_until_served(reconciler, [desired], port, f"{app}.localhost", 6)
            samples["node loss"].append(round(time.monotonic() - t0, 3))
            cluster.start(3)
            cluster.wait_ready()
            clean()
            print(f"  rep {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in samples.items())
                  + ", " + ", ".join(f"{k} {v[-1]:,.0f} req/s" for k, v in rps.items()),
                  flush=True)
    finally:
        clean()
        router_process.terminate()
        router_process.wait(10)
        router_log.close()
        cluster.script("down")

    med = {k: round(statistics.median(v), 3) for k, v in samples.items()}
    med_rps = {k: round(statistics.median(v), 1) for k, v in rps.items()}
    results = {
        "seconds": {k: {"median": med[k], "runs": v} for k, v in samples.items()},
        "router_rps": {k: {"median": med_rps[k], "runs": v} for k, v in rps.items()},
        "ratios": {
            "deploy 3 nodes / one host (target <= 1.3)":
                ratio(med["deploy 3 nodes"], med["deploy one host"]),
            "router other node / same host (target >= 0.9)":
                ratio(med_rps["other node"], med_rps["same host"]),
            "web=30 on 3 nodes / one host": ratio(med["web=30 on 3 nodes"],
                                                  med["web=30 one host"]),
        },
        "targets_seconds": {"web=30 on 3 nodes": 10.0, "node loss": 10.0},
    }
    print(table(["measure", "median"], [[k, f"{v:.2f} s"] for k, v in med.items()]
                + [[f"router {k}", f"{v:,.0f} req/s"] for k, v in med_rps.items()]
                + [[k, v] for k, v in results["ratios"].items()]))
    path = write_result("cluster", {"machine": info, "repeat": repeat, "results": results})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
