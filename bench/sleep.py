"""Wake latency: the first request to a sleeping app until its 200, beside the floor.

Real parts, as ``manage.py runtime`` wires them: the Docker backend, the HAProxy router
really running, the reconciler driven by ``runtime.loop.run_forever`` (nudged through a
Redis child), the sleeper fed by the router's access log, the waker holding requests.

The app is Flask-sized: Debian's Flask under gunicorn (one worker) on the stack's base
image (``pier/bench-sleep-flask:1``, built once from ``pier/stack-base`` with apt). Each
round waits for the app to fall asleep (``sleep_after`` 2 s, nothing running), then times
one request through the router until its 200. The floor, measured in the same rounds: a
container of the same image and command, already created, ``docker start`` until it
answers 200 on its own address (no router, no runtime).

    .venv/bin/python bench/sleep.py            # 7 rounds
    .venv/bin/python bench/sleep.py --quick    # 3 rounds
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from _common import free_port, machine_info, parse_count, ratio, require_docker, table, write_result

IMAGE = "pier/bench-sleep-flask:1"
DOCKERFILE = """FROM pier/stack-base:latest
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \\
    --no-install-recommends python3-flask gunicorn >/dev/null && rm -rf /var/lib/apt/lists/*
COPY app.py /srv/app.py
"""
APP = '''from flask import Flask, jsonify, request

app = Flask(__name__)


@app.get("/")
def index():
    return jsonify(ok=True, path=request.path)
'''
COMMAND = "exec gunicorn --chdir /srv -w 1 -b 0.0.0.0:$PORT app:app"
SLEEP_AFTER = 2.0
TARGET_P50 = 1.5


def flask_image(client) -> str:
    """Build IMAGE once (apt inside the build: a minute the first time)."""
    import docker.errors

    try:
        client.images.get(IMAGE)
        return IMAGE
    except docker.errors.ImageNotFound:
        pass
    print(f"building {IMAGE} (Debian's python3-flask and gunicorn) once...", flush=True)
    with tempfile.TemporaryDirectory() as context:
        Path(context, "Dockerfile").write_text(DOCKERFILE)
        Path(context, "app.py").write_text(APP)
        subprocess.run(["docker", "build", "-q", "-t", IMAGE, context], check=True)
    return IMAGE


def desired(name: str):
    from runtime.desired import DesiredApp, HealthCheck, ProcessSpec

    return DesiredApp(name=name, release=1, image=IMAGE, stop_grace=2.0,
                      formation=(ProcessSpec("web", 1, COMMAND, memory_mb=256),),
                      healthcheck=HealthCheck(boot_timeout=30.0), sleep_after=SLEEP_AFTER)


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.05)


def floor_seconds(client, label: str) -> float:
    """Time ``docker start`` of a created container of the app until it answers 200."""
    import httpx

    container = client.containers.create(
        IMAGE, ["sh", "-c", COMMAND], environment={"PORT": "5000"}, network="pier-apps",
        user="1000:1000", labels={"pier.bench": label})
    try:
        start = time.monotonic()
        container.start()
        container.reload()
        ip = container.attrs["NetworkSettings"]["Networks"]["pier-apps"]["IPAddress"]
        while time.monotonic() - start < 30:
            try:
                if httpx.get(f"http://{ip}:5000/", timeout=1).status_code == 200:
                    return time.monotonic() - start
            except httpx.HTTPError:
                pass
            time.sleep(0.01)
        raise RuntimeError("the floor's container did not answer within 30 s")
    finally:
        container.remove(force=True)


class Runtime:
    """The runtime's parts as ``manage.py runtime`` runs them, on a Redis child."""

    def __init__(self, backend, router, redis_url: str, access_log: str, apps: list) -> None:
        import redis

        from runtime.logship import AccessLogTail
        from runtime.logship.writer import StreamWriter
        from runtime.loop import NUDGE_CHANNEL, run_forever
        from runtime.reconciler import Reconciler
        from runtime.sleep import Sleeper, WakingRouter
        from runtime.waker import Waker

        client = redis.Redis.from_url(redis_url)
        self.sleeper = Sleeper(redis_client=client,
                               nudge=lambda: client.publish(NUDGE_CHANNEL, "wake"))
        self.waker = Waker(self.sleeper)
        self.reconciler = Reconciler(backend, WakingRouter(router, self.sleeper,
                                                           self.waker.start()))
        writer = StreamWriter(client)
        tail = AccessLogTail(access_log, writer, client, on_requests=self.sleeper.requests_seen)
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=run_forever, daemon=True, kwargs=dict(
                source=lambda: self.sleeper.prepare(apps), reconciler=self.reconciler,
                redis_url=redis_url, stop=self.stop)),
            threading.Thread(target=writer.run, args=(self.stop,), daemon=True),
            threading.Thread(target=tail.run, args=(self.stop,), daemon=True),
        ]
        for thread in self.threads:
            thread.start()

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(10)
        self.waker.stop()
        self.reconciler.executor.shutdown(wait=True)


def wake_seconds(runtime: Runtime, backend, app: str, port: int) -> float:
    import httpx

    wait_until(lambda: runtime.sleeper.sleeping(app) and not backend.list_processes(app), 60,
               "the app to fall asleep")
    start = time.monotonic()
    response = httpx.get(f"http://127.0.0.1:{port}/", headers={"Host": f"{app}.localhost"},
                         timeout=60)
    seconds = time.monotonic() - start
    if response.status_code != 200:
        raise RuntimeError(f"the wake answered {response.status_code}: {response.text[:200]}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _, rounds = parse_count(parser, "rounds", quick=3, full=7, quick_help="3 rounds",
                            help="rounds")
    require_docker()

    import docker

    from runtime.backends.docker import Backend
    from runtime.router import DEFAULT_ROUTER, load_router
    from tests.helpers import redis_server

    client = docker.from_env()
    flask_image(client)
    label = uuid.uuid4().hex[:8]
    tmp = Path(tempfile.mkdtemp(prefix="pier-bench-sleep-"))
    port = free_port()
    access_log = str(tmp / "access.log")
    router_log = open(tmp / "router.log", "wb")  # closed in finally
    router_process = None
    info = machine_info()
    app = f"bench-sleep-{label[:6]}"
    wakes, floors = [], []
    try:
        with redis_server(tmp) as redis_url:
            router = load_router(DEFAULT_ROUTER, state_dir=tmp / "router",
                                 listen=f"127.0.0.1:{port}", access_log=access_log)
            router_process = router.start(stdout=router_log, stderr=router_log)
            backend = Backend(client=client, labels={"pier.bench": label},
                              name_prefix=f"pier-bench-{label}-")
            backend.ensure_network()
            runtime = Runtime(backend, router, redis_url, access_log, [desired(app)])
            try:
                print(f"sleep bench: {rounds} rounds, Flask under gunicorn, "
                      f"nproc={info['nproc']}")
                for r in range(rounds):
                    wakes.append(wake_seconds(runtime, backend, app, port))
                    floors.append(floor_seconds(client, label))
                    print(f"  round {r + 1}: wake {wakes[-1]:.3f} s   "
                          f"floor {floors[-1]:.3f} s", flush=True)
            finally:
                runtime.close()  # before its Redis goes
    finally:
        for container in client.containers.list(all=True,
                                                filters={"label": f"pier.bench={label}"}):
            container.remove(force=True)
        if router_process:
            router_process.terminate()
            router_process.wait(10)
        router_log.close()
        shutil.rmtree(tmp, ignore_errors=True)

    def summary(samples):
        return {"p50_seconds": round(statistics.median(samples), 3),
                "min_seconds": round(min(samples), 3), "max_seconds": round(max(samples), 3),
                "runs": [round(s, 3) for s in samples]}

    wake, floor = summary(wakes), summary(floors)
    over = ratio(wake["p50_seconds"], floor["p50_seconds"])
    print(f"\nseconds from the first request to its 200 (median of {rounds}; "
          f"target p50 < {TARGET_P50:g} s)")
    print(table(["path", "p50 s", "min s", "max s"], [
        ["wake through the router", wake["p50_seconds"], wake["min_seconds"],
         wake["max_seconds"]],
        ["floor: docker start + boot", floor["p50_seconds"], floor["min_seconds"],
         floor["max_seconds"]],
    ]))
    print(f"wake / floor: {over}x; target met: {wake['p50_seconds'] < TARGET_P50}")
    path = write_result("sleep", {
        "benchmark": "sleep",
        "machine": info,
        "method": {
            "app": f"{IMAGE}: Debian's Flask, gunicorn -w 1",
            "wake": "request through HAProxy to an app asleep (no container) until its 200: "
                    "waker holds it, runtime loop (nudged via Redis) creates and starts the "
                    "container, health check, route, hand-over",
            "floor": "docker start of an already created container of the same image and "
                     "command until it answers 200 on its own address",
            "rounds": rounds,
            "sleep_after_seconds": SLEEP_AFTER,
        },
        "target_p50_seconds": TARGET_P50,
        "meets_target": wake["p50_seconds"] < TARGET_P50,
        "wake": wake,
        "floor": floor,
        "wake_over_floor": over,
    })
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
