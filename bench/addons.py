"""Add-ons: time to a working database, query throughput, backup and restore throughput.

Real parts, as tests/integration/addons uses them: Pier's services (``addon_create``,
``backup_run``, ``backup_restore_run``) with the Docker provider, the add-on's container
from ``pier/service-postgresql``, and app one-offs made by the Docker backend (on the apps'
bridge plus the add-on's network). The app image is the service image itself (it has psql
and pgbench). Provisioning runs in this process, as the worker would run it (no queue wait).

- ``create``: ``addon_create postgresql`` until an app's one-off gets ``SELECT 1`` back
  over TLS (target < 15 s);
- ``pgbench -S``: from an app container against its add-on (TLS as apps use it, and
  without) vs the same pgbench on the host against the host's PostgreSQL
  (``--host-dsn``, CI's server), same scale, clients and duration (target >= 0.9x); and,
  as the floor, between two plain containers of the add-on's image on a plain Docker
  bridge, the server with the add-on's command and memory, and from a third container in
  the server's own network namespace (loopback: what the containers cost without the
  bridge between them);
- ``backup``/``restore``: MB/s of ``pg:backups:capture`` (pg_dump -Fc in the add-on's
  container, streamed to the data dir) and of the restore (pg_restore into the add-on),
  vs plain ``pg_dump -Fc`` / ``pg_restore`` on the host against the host's server, for
  the same pgbench database (target >= 0.9x). MB is the database's size.

    .venv/bin/python bench/addons.py             # pgbench scale 70 (~1 GB), 3 x 20 s runs
    .venv/bin/python bench/addons.py --quick     # scale 10 (~150 MB), 1 x 10 s run
    .venv/bin/python bench/addons.py --plan standard   # 1 GB of memory instead of mini's 256 MB
                                                       # (results in addons-standard.json)
    .venv/bin/python bench/addons.py --plan premium    # 4 GB: the 1 GB database fits in memory
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

from _common import ROOT, docker_available, machine_info, ratio, table, write_result

HOST_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
TARGET_CREATE_SECONDS = 15.0
TARGET_RATIO = 0.9
CLIENTS = 4


def setup_django(tmp: Path, label: str) -> subprocess.Popen:
    """Point Pier's settings at tmp (SQLite, a redis-server there), migrate; return redis."""
    sock = tmp / "redis.sock"
    redis_proc = subprocess.Popen(
        ["redis-server", "--port", "0", "--unixsocket", str(sock), "--save", "",
         "--appendonly", "no", "--dir", str(tmp)], stdout=subprocess.DEVNULL)
    while not sock.exists():
        time.sleep(0.05)
    os.environ.update({"PIER_DATA_DIR": str(tmp / "data"), "REDIS_URL": f"unix://{sock}",
                       "DJANGO_SETTINGS_MODULE": "pier.settings", "PIER_LOG_LEVEL": "WARNING",
                       "PIER_PLATFORM_ID": label})
    os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT / "platform"))
    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    settings.CELERY_TASK_ALWAYS_EAGER = True  # provisioning and restores run right here
    call_command("migrate", "--noinput", verbosity=0)
    return redis_proc


class Bench:
    def __init__(self, label: str, image: str) -> None:
        from runtime.backends.docker import Backend

        self.label, self.image = label, image
        self.backend = Backend(labels={"pier.platform": label}, name_prefix=f"{label}-")
        self.backend.ensure_network()

    def make_app(self, name: str):
        from api.models import App, Build, Config
        from api.services.releases import release_create
        from api.services.tokens import user_create

        self.user = user_create(email=f"{name}@example.com", password=None)
        app = App.objects.create(name=name, owner=self.user)
        build = Build.objects.create(app=app, status=Build.Status.SUCCEEDED,
                                     process_types={"web": "sleep 3600"},
                                     image=self.image)
        release_create(app=app, build=build, config=Config.objects.create(app=app, values={}),
                       description="Deploy", user=self.user)
        return app

    def run(self, app, command: str, timeout: float = 3600) -> tuple[int, str]:
        from api.desired import desired_app

        app.refresh_from_db()
        output = bytearray()
        code = self.backend.run_oneoff(desired_app(app=app), command, output=output.extend,
                                       timeout=timeout)
        return code, output.decode(errors="replace")

    def cleanup(self) -> None:
        import docker

        from tests.helpers import remove_platform_resources

        remove_platform_resources(docker.from_env(), self.label)


class DockerFloor:
    """The add-on's server, as Pier runs it (image, command, memory), and a pgbench client in
    two plain containers on a plain Docker bridge: what Docker alone costs, without Pier's
    networks, rules and limits, measured beside the add-on in the same run."""

    PASSWORD = "floor"

    def __init__(self, label: str, addon, scale: int) -> None:
        import docker

        client = docker.from_env()
        source = client.containers.list(filters={"label": f"pier.addon={addon.name}"})[0]
        image = source.attrs["Config"]["Image"]
        self.host = f"{label}-floor-pg"
        self.network = client.networks.create(f"{label}-floor")
        self.server = self.client = self.beside = None
        try:  # its containers carry no platform label: Bench.cleanup would not find them
            self.server = client.containers.run(
                image, source.attrs["Config"]["Cmd"], name=self.host, detach=True,
                network=self.network.name, mem_limit=source.attrs["HostConfig"]["Memory"])
            self.client = client.containers.run(image, ["sleep", "infinity"], detach=True,
                                                name=f"{label}-floor-client",
                                                network=self.network.name)
            self.beside = client.containers.run(image, ["sleep", "infinity"], detach=True,
                                                name=f"{label}-floor-beside",
                                                network_mode=f"container:{self.server.id}")
            while self.server.exec_run("pg_isready -q -U postgres").exit_code != 0:
                time.sleep(0.2)
            self._exec(self.server, f"psql -U postgres -qc \"ALTER USER postgres PASSWORD "
                                    f"'{self.PASSWORD}'\"")
            self._exec(self.client, f"pgbench -i -q -s {scale} {self._dsn()}")
        except BaseException:
            self.remove()
            raise

    def _dsn(self, host: str | None = None) -> str:
        return f'"host={host or self.host} user=postgres dbname=postgres sslmode=disable"'

    def _exec(self, container, command: str) -> str:
        code, out = container.exec_run(["sh", "-c", command],
                                       environment={"PGPASSWORD": self.PASSWORD})
        if code:
            raise RuntimeError(f"{command} failed:\n{out.decode()[-2000:]}")
        return out.decode()

    def pgbench(self, seconds: int) -> float:
        return tps(self._exec(self.client, f"pgbench {pgbench_args(seconds)} {self._dsn()}"))

    def pgbench_loopback(self, seconds: int) -> float:
        """The same, from a container sharing the server's network namespace."""
        return tps(self._exec(self.beside,
                              f"pgbench {pgbench_args(seconds)} {self._dsn('127.0.0.1')}"))

    def remove(self) -> None:
        for container in (self.beside, self.client, self.server):
            if container is not None:
                container.remove(force=True)
        self.network.remove()


def bench_create(bench: Bench, app, plan: str) -> tuple[float, object]:
    from api.services import addons

    start = time.monotonic()
    addon = addons.addon_create(app=app, user=bench.user, service="postgresql", plan=plan)
    while bench.run(app, 'psql "$DATABASE_URL?sslmode=require" -tAc "SELECT 1"')[0] != 0:
        time.sleep(0.2)
    return time.monotonic() - start, addon


def tps(output: str) -> float:
    found = re.search(r"tps = ([\d.]+)", output)
    if not found:
        raise RuntimeError(f"pgbench printed no tps:\n{output[-2000:]}")
    return float(found.group(1))


def pgbench_args(seconds: int) -> str:
    return f"-S -n -c {CLIENTS} -j 2 -T {seconds}"


def host_db(dsn: str, name: str) -> str:
    subprocess.run(["psql", dsn, "-qc", f'CREATE DATABASE "{name}"'], check=True)
    return urlunparse(urlparse(dsn)._replace(path=f"/{name}"))


def drop_host_db(dsn: str, name: str) -> None:
    subprocess.run(["psql", dsn, "-qc", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'],
                   check=False)


def size_mb(dsn: str) -> float:
    out = subprocess.run(["psql", dsn, "-tAc", "SELECT pg_database_size(current_database())"],
                         capture_output=True, text=True, check=True).stdout
    return int(out) / 1e6


def timed(argv: list[str]) -> float:
    start = time.monotonic()
    subprocess.run(argv, check=True, capture_output=True)
    return time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--plan", default="mini",
                        help="the add-on's plan (mini, standard, premium)")
    parser.add_argument("--host-dsn", default=os.environ.get("BENCH_HOST_DSN", HOST_DSN),
                        help="an admin DSN of a PostgreSQL on this host (the baseline)")
    args = parser.parse_args()
    if not docker_available():
        sys.exit("needs a running Docker Engine (scripts/ensure-docker.sh)")
    scale, seconds, repeat = (10, 10, 1) if args.quick else (70, 20, 3)
    label = f"bench-addons-{uuid.uuid4().hex[:6]}"
    with tempfile.TemporaryDirectory(prefix="pier-bench-addons-") as tmp:
        redis_proc = setup_django(Path(tmp), label)
        from addons.images import ensure_service_image
        from builds.engine import ensure_stack_images

        ensure_stack_images(progress=lambda line: None)
        bench = Bench(label, ensure_service_image("postgresql"))
        dbname = f"bench_addons_{uuid.uuid4().hex[:6]}"
        try:
            result = run_all(bench, args.host_dsn, dbname, scale, seconds, repeat, args.plan)
        finally:
            bench.cleanup()
            drop_host_db(args.host_dsn, dbname)
            redis_proc.terminate()
    result["method"]["quick"] = args.quick
    path = write_result("addons" if args.plan == "mini" else f"addons-{args.plan}", result)
    print(f"\nwritten: {path.relative_to(ROOT)}")


def run_all(bench: Bench, host_dsn: str, dbname: str, scale: int, seconds: int,
            repeat: int, plan: str) -> dict:
    from api.services import addon_backups

    app = bench.make_app(f"bench-{uuid.uuid4().hex[:6]}")
    create_seconds, addon = bench_create(bench, app, plan)
    print(f"create until an app's query succeeds: {create_seconds:.2f} s")

    host = host_db(host_dsn, dbname)
    print(f"pgbench -i -s {scale} on the add-on and on the host...")
    code, out = bench.run(app, f'pgbench -i -q -s {scale} "$DATABASE_URL?sslmode=disable"')
    if code:
        raise RuntimeError(f"pgbench -i in the app failed:\n{out[-2000:]}")
    subprocess.run(["pgbench", "-i", "-q", "-s", str(scale), host], check=True,
                   capture_output=True)

    floor = DockerFloor(bench.label, addon, scale)
    runs = {"addon_tls": [], "addon_plain": [], "host": [], "docker_floor": [],
            "docker_loopback": []}
    try:
        for _ in range(repeat):  # interleaved, so a busy moment of the machine hits all
            for key, mode in (("addon_tls", "require"), ("addon_plain", "disable")):
                code, out = bench.run(app, f'pgbench {pgbench_args(seconds)} '
                                           f'"$DATABASE_URL?sslmode={mode}"')
                runs[key].append(tps(out))
            runs["host"].append(tps(subprocess.run(
                ["pgbench", *pgbench_args(seconds).split(), host],
                capture_output=True, text=True, check=True).stdout))
            runs["docker_floor"].append(floor.pgbench(seconds))
            runs["docker_loopback"].append(floor.pgbench_loopback(seconds))
    finally:
        floor.remove()
    median = {k: statistics.median(v) for k, v in runs.items()}

    from addons.container import ContainerProvider

    mb = float(ContainerProvider().query_info(addon)[1]) / 1e6
    backup_seconds = []
    restore_seconds = []
    for _ in range(repeat):
        start = time.monotonic()
        backup = addon_backups.backup_run(
            backup_id=addon_backups.backup_create(addon=addon).pk)
        backup_seconds.append(time.monotonic() - start)
        assert backup.status == "succeeded", backup.error
        start = time.monotonic()
        addon.state = "restoring"
        addon.save(update_fields=["state"])
        restored = addon_backups.backup_restore_run(backup_id=backup.pk)
        restore_seconds.append(time.monotonic() - start)
        assert not restored.last_error, restored.last_error
    host_mb = size_mb(host)
    dump = Path(tempfile.mkdtemp()) / "host.dump"
    host_dump = [timed(["pg_dump", "-Fc", "--no-owner", "-f", str(dump), host])
                 for _ in range(repeat)]
    host_restore = [timed(["pg_restore", "--clean", "--if-exists", "--no-owner",
                           "--single-transaction", "-d", host, str(dump)])
                    for _ in range(repeat)]
    dump.unlink()

    throughput = {
        "backup": (mb / statistics.median(backup_seconds), host_mb / statistics.median(host_dump)),
        "restore": (mb / statistics.median(restore_seconds),
                    host_mb / statistics.median(host_restore)),
    }
    rows = [
        ["create until a query succeeds (s)", round(create_seconds, 2), "-", "-"],
        ["pgbench -S tps, TLS (as apps)", median["addon_tls"], median["host"],
         ratio(median["addon_tls"], median["host"])],
        ["pgbench -S tps, no TLS", median["addon_plain"], median["host"],
         ratio(median["addon_plain"], median["host"])],
        ["pgbench -S tps, plain Docker containers", median["docker_floor"], median["host"],
         ratio(median["docker_floor"], median["host"])],
        ["pgbench -S tps, containers, one netns", median["docker_loopback"], median["host"],
         ratio(median["docker_loopback"], median["host"])],
        ["backup MB/s", *throughput["backup"], ratio(*throughput["backup"])],
        ["restore MB/s", *throughput["restore"], ratio(*throughput["restore"])],
    ]
    print(table(["measure", "add-on", "host", "ratio"], rows))
    return {
        "benchmark": "addons",
        "machine": machine_info(),
        "method": {
            "create": "addon_create postgresql (provisioning in-process) until an app one-off "
                      "gets SELECT 1 over TLS",
            "pgbench": f"pgbench {pgbench_args(seconds)}, scale {scale}, from an app container "
                       "(pier-apps bridge + the add-on's network) vs on the host against "
                       "the host's PostgreSQL 15, and between two plain containers on a "
                       "plain Docker bridge (the add-on's image, command and memory: "
                       "docker_floor), and from a container in the server's network "
                       "namespace over loopback (docker_loopback); median of the runs, "
                       "interleaved",
            "backup_restore": "backup_run (pg_dump -Fc in the add-on's container, streamed to "
                              "the data dir) and backup_restore_run (copied in, pg_restore "
                              "--single-transaction) vs pg_dump -Fc / pg_restore on the host",
            "plan": addon.plan,
            "repeat": repeat,
        },
        "database_mb": {"addon": round(mb, 1), "host": round(host_mb, 1)},
        "targets": {"create_seconds": TARGET_CREATE_SECONDS, "ratio": TARGET_RATIO},
        "results": {
            "create_seconds": round(create_seconds, 2),
            "pgbench_tps": {**{k: round(v, 1) for k, v in median.items()},
                            "runs": runs,
                            "ratio_tls": ratio(median["addon_tls"], median["host"]),
                            "ratio_plain": ratio(median["addon_plain"], median["host"]),
                            "ratio_docker_floor": ratio(median["docker_floor"], median["host"]),
                            "ratio_docker_loopback": ratio(median["docker_loopback"],
                                                           median["host"]),
                            "ratio_plain_to_floor": ratio(median["addon_plain"],
                                                          median["docker_floor"])},
            "backup": {"addon_mb_s": round(throughput["backup"][0], 1),
                       "host_mb_s": round(throughput["backup"][1], 1),
                       "ratio": ratio(*throughput["backup"]),
                       "addon_seconds": backup_seconds, "host_seconds": host_dump},
            "restore": {"addon_mb_s": round(throughput["restore"][0], 1),
                        "host_mb_s": round(throughput["restore"][1], 1),
                        "ratio": ratio(*throughput["restore"]),
                        "addon_seconds": restore_seconds, "host_seconds": host_restore},
        },
    }


if __name__ == "__main__":
    main()
