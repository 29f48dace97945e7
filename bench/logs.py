"""Log pipeline: ingest rate, tail fan-out, print-to-tail latency, memory of idle tails.

Everything runs on this host: a redis-server on a unix socket in a temp dir, the real
control plane (``gunicorn ... pier.asgi:application`` with one UvicornWorker) on a
loopback port, app containers of ``pier/stack-run:latest`` on Docker, and
``runtime.logship.Shipper`` in a process of its own (as ``manage.py runtime`` runs it).

1. Ingest: a container prints N lines as fast as a Python loop can; the Shipper ships
   them into ``pier:logs:<app>``. Rate = N / (Redis id of the last line - id of the
   first), so it is the rate at which lines reach the store. Two cases: ``live`` (the
   Shipper follows the container while it prints) and ``backlog`` (the container has
   finished before the Shipper starts: the Shipper alone, nothing waits on the app).
   Baselines, same lines, same Redis: ``applog.append`` in redis-py pipelines of 1000
   (the issue's baseline) and ``StreamWriter`` (the Shipper's Lua batches) fed directly.
2. Fan-out: 1 and 100 tails (``GET /api/apps/{app}/log-stream?lines=1&tail=true``) while
   another process appends M lines with ``applog.append`` in pipelines of 200 as fast as
   it can. Per-tail rate = M / (time the tail saw the last line - start of appending).
   M stays below the stream cap (10 000), so a slow tail cannot lose lines to trimming.
3. Latency: a container prints ``time.time()`` every 10 ms; a tail records the arrival
   time of each line (same host, same clock). The first second is reported apart (the
   Shipper starts following on Docker's start event).
4. Memory: VmRSS of the gunicorn worker before and while 500 idle tails are open.

The tails are raw asyncio sockets that count markers in the received bytes: with 100
tails and 2 cores an HTTP client parsing every chunk in Python would cost more than the
server and measure itself.

    .venv/bin/python bench/logs.py            # ~3-4 minutes
    .venv/bin/python bench/logs.py --quick    # ~1 minute, smaller N and M
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import docker
import httpx
import redis
from _common import (
    ROOT,
    docker_available,
    free_port,
    machine_info,
    ratio,
    table,
    wait_port,
    write_result,
)

from runtime import applog
from runtime.logship import Line, StreamWriter

VENV_BIN = Path(sys.executable).parent
IMAGE = "pier/stack-run:latest"
PAD = "x" * 60  # ~100-byte lines once formatted, a typical app log line
ERROR_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception)):", re.M)
TUNED_QUERY = "max_connections=1000&socket_timeout=60"
TARGETS = {"ingest_lines_per_s": 20_000, "p99_ms": 250, "idle_tails_extra_mb": 100}

INGEST_CODE = """
import sys
w = sys.stdout.write
pad = "x" * 60
for i in range({n}):
    w(f"ing {{i}} {{pad}}\\n")
sys.stdout.flush()
"""

LATENCY_CODE = """
import time
n, step = {n}, 0.01
start = time.monotonic()
for i in range(n):
    print(f"lat {{time.time():.6f}} end", flush=True)
    delay = start + (i + 1) * step - time.monotonic()
    if delay > 0:
        time.sleep(delay)
print("lat-done", flush=True)
"""

SIZES = {
    "full": {"ingest_lines": 200_000, "fan_lines_1": 10_000, "fan_lines_100": 2_000,
             "latency_s": 10.0, "idle_tails": 500, "idle_s": 20.0},
    "quick": {"ingest_lines": 40_000, "fan_lines_1": 5_000, "fan_lines_100": 1_000,
              "latency_s": 4.0, "idle_tails": 500, "idle_s": 8.0},
}


# -- processes --------------------------------------------------------------------------


def _shipper_process(redis_url: str, labels: dict, ready, stop) -> None:
    """Run a Shipper until ``stop`` is set (spawned: the bench's own threads stay out)."""
    from runtime.logship import Shipper

    shipper = Shipper(docker.from_env(), redis.Redis.from_url(redis_url), labels=labels)
    shipper.start()
    ready.set()
    stop.wait(600)
    shipper.stop()


def _appender_process(redis_url: str, app: str, total: int, batch: int, go, out) -> None:
    """Append ``total`` lines with applog.append in pipelines, then an end marker."""
    client = redis.Redis.from_url(redis_url)
    client.ping()
    out.put("ready")
    go.wait(300)
    t0 = time.time()
    for start in range(0, total, batch):
        pipe = client.pipeline(transaction=False)
        for i in range(start, min(total, start + batch)):
            applog.append(client, app, source="app", dyno="web.1",
                          message=f"fl {i} {PAD}", pipeline=pipe)
        pipe.execute()
    applog.append(client, app, source="app", dyno="web.1", message="fan-end")
    out.put((t0, time.time()))


class Platform:
    """redis-server + migrated data dir + gunicorn/uvicorn control plane, all in tmp."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.redis_proc: subprocess.Popen | None = None
        self.server: subprocess.Popen | None = None
        self.sock = tmp / "redis.sock"
        self.redis_url = f"unix://{self.sock}"
        self.port = 0
        self.token = ""

    def start(self) -> None:
        self.redis_proc = subprocess.Popen(
            ["redis-server", "--port", "0", "--unixsocket", str(self.sock), "--save", "",
             "--appendonly", "no", "--dir", str(self.tmp)], stdout=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.redis_url)
        for _ in range(200):
            with contextlib.suppress(redis.RedisError, OSError):
                if client.ping():
                    break
            time.sleep(0.05)
        env = {**os.environ, "PIER_DATA_DIR": str(self.tmp / "data"),
               "REDIS_URL": self.redis_url, "DJANGO_SETTINGS_MODULE": "pier.settings"}
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run(manage + ["migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env,
                       check=True, capture_output=True)
        out = subprocess.run(manage + ["createuser", "bench@example.com"], cwd=ROOT, env=env,
                             check=True, capture_output=True, text=True).stdout
        self.token = out.strip().splitlines()[-1]
        self.start_server(self.redis_url)

    def start_server(self, redis_url: str) -> None:
        """Start gunicorn (again) with REDIS_URL=redis_url; the data dir stays."""
        self.stop_server()
        env = {**os.environ, "PIER_DATA_DIR": str(self.tmp / "data"), "REDIS_URL": redis_url,
               "PIER_LOG_LEVEL": "WARNING", "DJANGO_SETTINGS_MODULE": "pier.settings"}
        cwd = ROOT / "platform"
        self.port = free_port()
        log = open(self.tmp / "gunicorn.log", "ab")  # kept by the child
        self.server = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "--chdir", str(cwd), "pier.asgi:application",
             "--worker-class", "uvicorn_worker.UvicornWorker", "--workers", "1",
             "--bind", f"127.0.0.1:{self.port}", "--graceful-timeout", "3"],
            env=env, stdout=log, stderr=log, start_new_session=True)
        log.close()
        wait_port("127.0.0.1", self.port, 30)
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/api/health", timeout=2).status_code < 500:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("control plane did not answer /api/health")
            time.sleep(0.1)

    def errors(self) -> Counter:
        """Exception lines in the server's log so far, by exception name."""
        path = self.tmp / "gunicorn.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return Counter(m.group(1) for m in ERROR_LINE.finditer(text))

    def errors_since(self, before: Counter) -> dict:
        return dict(self.errors() - before)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def create_app(self, name: str) -> None:
        r = httpx.post(f"{self.url}/api/apps", json={"name": name}, timeout=10,
                       headers={"Authorization": f"Bearer {self.token}"})
        if r.status_code != 201:
            raise RuntimeError(f"creating app {name}: {r.status_code} {r.text}")

    def worker_pid(self) -> int:
        assert self.server is not None
        path = Path(f"/proc/{self.server.pid}/task/{self.server.pid}/children")
        pids = path.read_text().split()
        if len(pids) != 1:
            raise RuntimeError(f"expected one gunicorn worker, found {pids}")
        return int(pids[0])

    def stop(self) -> None:
        self.stop_server()
        self.stop_redis()

    def stop_server(self) -> None:
        if self.server is not None and self.server.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.server.pid, signal.SIGTERM)
            try:
                self.server.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.server.pid, signal.SIGKILL)
                self.server.wait(5)

    def stop_redis(self) -> None:
        if self.redis_proc is not None and self.redis_proc.poll() is None:
            self.redis_proc.terminate()
            try:
                self.redis_proc.wait(10)
            except subprocess.TimeoutExpired:
                self.redis_proc.kill()
                self.redis_proc.wait(5)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


# -- tails (raw sockets) ----------------------------------------------------------------


class Tail:
    """One ``tail=true`` connection; the bytes after the headers are scanned for markers."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.carry = b""

    @classmethod
    async def open(cls, plat: Platform, app: str, lines: int = 1,
                   ready: bytes | None = b"bench-warm") -> Tail:
        reader, writer = await asyncio.open_connection("127.0.0.1", plat.port, limit=1 << 20)
        writer.write(
            f"GET /api/apps/{app}/log-stream?lines={lines}&tail=true HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{plat.port}\r\nAuthorization: Bearer {plat.token}\r\n"
            "Accept: text/plain\r\n\r\n".encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        if b" 200 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError(f"log-stream answered {head[:200]!r}")
        tail = cls(reader, writer)
        if ready:  # history delivered: the generator now waits in XREAD, no line is missed
            await tail.wait_for(ready)
        return tail

    async def wait_for(self, marker: bytes) -> None:
        buf = self.carry
        while marker not in buf:
            data = await self.reader.read(1 << 16)
            if not data:
                raise RuntimeError("tail closed")
            buf = buf[-len(marker):] + data
        self.carry = buf[buf.index(marker) + len(marker):]

    async def count(self, token: bytes, end: bytes) -> tuple[int, float]:
        """Return how many ``token`` arrived before ``end``, and when ``end`` arrived."""
        n, tok_carry, end_carry, data = 0, b"", b"", self.carry
        while True:
            buf, ebuf = tok_carry + data, end_carry + data
            if end in ebuf:
                pos = ebuf.index(end) - len(end_carry) + len(tok_carry)
                return n + buf[: max(pos, 0)].count(token), time.time()
            n += buf.count(token)  # the carries are too short to hold a whole marker
            tok_carry, end_carry = buf[-(len(token) - 1):], ebuf[-(len(end) - 1):]
            data = await self.reader.read(1 << 16)
            if not data:
                raise RuntimeError("tail closed")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


async def open_tails(plat: Platform, app: str, n: int,
                     batch: int = 100) -> tuple[list[Tail], int, str | None]:
    """Open n tails, batch at a time; return the open ones, how many failed, first error."""
    tails: list[Tail] = []
    failed, first_error = 0, None
    for start in range(0, n, batch):
        opened = await asyncio.gather(
            *(Tail.open(plat, app) for _ in range(min(batch, n - start))),
            return_exceptions=True)
        for item in opened:
            if isinstance(item, Tail):
                tails.append(item)
            else:
                failed += 1
                first_error = first_error or repr(item)
    return tails, failed, first_error


def warm(client: redis.Redis, app: str, reset: bool = True) -> None:
    if reset:
        client.delete(applog.stream_key(app))
    applog.append(client, app, source="pier", dyno="bench", message="bench-warm")


# -- 4. memory --------------------------------------------------------------------------


async def measure_memory(plat: Platform, client: redis.Redis, app: str, n: int,
                         idle_s: float) -> dict:
    """RSS of the worker before and with n idle tails; tails the server drops are counted."""
    warm(client, app)
    pid = plat.worker_pid()
    for _ in range(3):  # load the view, the async Redis pool and their imports first
        tail = await Tail.open(plat, app)
        tail.close()
    await wait_idle(client)
    before = statistics.median([rss_mb(pid), await _later(rss_mb, pid), await _later(rss_mb, pid)])
    redis_clients_before = client.info("clients")["connected_clients"]
    errors_before = plat.errors()
    t0 = time.monotonic()
    tails, failed, first_error = await open_tails(plat, app, n, batch=50)
    opened_s = time.monotonic() - t0
    try:
        await asyncio.sleep(1.0)
        during = statistics.median(
            [rss_mb(pid), await _later(rss_mb, pid), await _later(rss_mb, pid)])
        redis_clients = client.info("clients")["connected_clients"]
        # Idle on, then check the tails still work: one more line must reach every one.
        await asyncio.sleep(max(0.0, idle_s - (time.monotonic() - t0)))
        rss_end_idle = rss_mb(pid)
        applog.append(client, app, source="pier", dyno="bench", message="bench-ping")
        results = await asyncio.wait_for(asyncio.gather(
            *(t.wait_for(b"bench-ping") for t in tails), return_exceptions=True), 30)
        alive = sum(1 for r in results if not isinstance(r, BaseException))
    finally:
        for tail in tails:
            tail.close()
    await wait_idle(client, redis_clients_before)
    after_close = rss_mb(pid)
    extra = during - before
    return {
        "tails_attempted": n, "tails_open": len(tails), "tails_failed": failed,
        "tails_alive_at_ping": alive, "first_error": first_error,
        "idle_s": idle_s, "rss_end_of_idle_mb": round(rss_end_idle, 1),
        "server_errors": plat.errors_since(errors_before),
        "rss_before_mb": round(before, 1), "rss_with_tails_mb": round(during, 1),
        "extra_mb": round(extra, 1),
        "per_open_tail_kb": round(extra * 1024 / len(tails), 1) if tails else None,
        "rss_after_close_mb": round(after_close, 1), "ratio_to_before": ratio(during, before),
        "open_all_s": round(opened_s, 2),
        "redis_connections_held": redis_clients - redis_clients_before,
    }


async def wait_idle(client: redis.Redis, clients: int | None = None,
                    timeout: float = 20.0) -> None:
    """Wait until the server has let go of closed tails' Redis connections."""
    await asyncio.sleep(0.5)
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        now = client.info("clients")["connected_clients"]
        if (clients is not None and now <= clients) or (clients is None and now == last):
            return
        last = now
        await asyncio.sleep(0.5)


async def _later(fn, *args, delay: float = 0.5):
    await asyncio.sleep(delay)
    return fn(*args)


# -- 2. fan-out ---------------------------------------------------------------------------


async def measure_fanout(plat: Platform, client: redis.Redis, app: str, n_tails: int,
                         lines: int, timeout: float) -> dict:
    warm(client, app)
    clients_before = client.info("clients")["connected_clients"]
    errors_before = plat.errors()
    ctx = multiprocessing.get_context("spawn")
    go, out = ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=_appender_process,
                       args=(plat.redis_url, app, lines, 200, go, out))
    tails: list[Tail] = []
    try:
        proc.start()  # imported and connected before the tails open: they must not idle
        await asyncio.to_thread(out.get, True, 60)
        tails, failed, first_error = await open_tails(plat, app, n_tails, batch=n_tails)
        go.set()
        counts = [asyncio.ensure_future(t.count(b"]: fl ", b"]: fan-end")) for t in tails]
        done, pending = await asyncio.wait(counts, timeout=timeout) if counts else ((), ())
        t0, t1 = await asyncio.to_thread(out.get, True, 60)
        for task in pending:
            task.cancel()
        got = [task.result() for task in done if task.exception() is None]
        broken = [repr(task.exception()) for task in done if task.exception() is not None]
    finally:
        go.set()
        for tail in tails:
            tail.close()
        proc.join(30)
        if proc.is_alive():
            proc.kill()
            proc.join()
    await wait_idle(client, clients_before)
    rates = [n / (t_end - t0) for n, t_end in got]
    last = max((t_end for _, t_end in got), default=None)
    delivered = sum(n for n, _ in got)
    return {
        "tails": n_tails, "lines": lines, "tails_failed_to_open": failed,
        "open_error": first_error, "tails_broken": len(broken),
        "broken_error": broken[0] if broken else None, "tails_timed_out": len(pending),
        "append_lines_per_s": round(lines / (t1 - t0)),
        "tails_finished": len(got), "lines_delivered": delivered,
        "lines_missing": lines * n_tails - delivered,
        "per_tail_lines_per_s_median": round(statistics.median(rates)) if rates else None,
        "per_tail_lines_per_s_min": round(min(rates)) if rates else None,
        "aggregate_lines_per_s": round(delivered / (last - t0)) if last else None,
        "last_tail_done_s": round(last - t0, 2) if last else None,
        "lag_after_append_s": round(last - t1, 3) if last else None,
        "server_errors": plat.errors_since(errors_before),
    }


# -- 1. ingest --------------------------------------------------------------------------


def _id_ms(entry_id) -> int:
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return int(text.split("-")[0])


def _field(info: dict, name: str):
    return info.get(name, info.get(name.encode()))


def wait_ingested(client: redis.Redis, key: str, n: int, timeout: float) -> dict:
    """Poll until n entries were added to key; return the Redis-side span first -> last."""
    deadline = time.monotonic() + timeout
    first = None
    while time.monotonic() < deadline:
        if first is None:
            entries = client.xrange(key, "-", "+", count=1)
            if entries:
                first = entries[0]
        if first is not None:
            info = client.xinfo_stream(key)
            if _field(info, "entries-added") >= n:
                break
        time.sleep(0.005 if first is None else 0.02)
    else:
        added = _field(client.xinfo_stream(key), "entries-added") if first else 0
        return {"complete": False, "lines_in_stream": added}
    last_id, last_fields = client.xrevrange(key, "+", "-", count=1)[0]
    first_line = applog.LogLine.from_entry(*first)
    last_line = applog.LogLine.from_entry(last_id, last_fields)
    span = (_id_ms(last_id) - _id_ms(first[0])) / 1000
    ts_span = (_ts(last_line.timestamp) - _ts(first_line.timestamp))
    added = _field(client.xinfo_stream(key), "entries-added")
    return {
        "complete": True,
        "first_is_line_0": first_line.message.startswith("ing 0 "),
        "last_is_line_n": last_line.message.startswith(f"ing {n - 1} "),
        "lines_in_stream": added,
        "store_span_s": round(span, 3),
        "lines_per_s": round(n / span) if span > 0 else None,
        "app_print_span_s": round(ts_span, 3),  # Docker's timestamps of first and last line
        "app_print_lines_per_s": round(n / ts_span) if ts_span > 0 else None,
    }


def _ts(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text).timestamp()


def baseline_pipeline(client: redis.Redis, n: int) -> dict:
    app = "benchbase-pipe"
    client.delete(applog.stream_key(app))
    t0 = time.perf_counter()
    for start in range(0, n, 1000):
        pipe = client.pipeline(transaction=False)
        for i in range(start, min(n, start + 1000)):
            applog.append(client, app, source="app", dyno="web.1",
                          message=f"ing {i} {PAD}", pipeline=pipe)
        pipe.execute()
    elapsed = time.perf_counter() - t0
    client.delete(applog.stream_key(app))
    return {"lines": n, "seconds": round(elapsed, 3), "lines_per_s": round(n / elapsed)}


def baseline_writer(client: redis.Redis, n: int) -> dict:
    app = "benchbase-writer"
    client.delete(applog.stream_key(app))
    writer = StreamWriter(client)
    ts = applog.now_timestamp()
    t0 = time.perf_counter()
    for start in range(0, n, 1000):
        writer.put([Line(app, "app", "web.1", ts, f"ing {i} {PAD}")
                    for i in range(start, min(n, start + 1000))])
        writer.flush()
    elapsed = time.perf_counter() - t0
    client.delete(applog.stream_key(app))
    return {"lines": n, "seconds": round(elapsed, 3), "lines_per_s": round(n / elapsed)}


class Containers:
    def __init__(self, client: docker.DockerClient, platform_label: str) -> None:
        self.client, self.platform_label, self.started = client, platform_label, []

    def run(self, app: str, code: str):
        container = self.client.containers.run(
            IMAGE, ["-c", code], entrypoint="python3", user="1000", network_mode="none",
            detach=True, labels={"pier.app": app, "pier.process": "web", "pier.index": "1",
                                 "pier.platform": self.platform_label})
        self.started.append(container)
        return container

    def cleanup(self) -> None:
        for container in self.started:
            with contextlib.suppress(Exception):
                container.remove(force=True)


class ShipperProc:
    def __init__(self, redis_url: str, labels: dict) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.ready, self.stop_event = ctx.Event(), ctx.Event()
        self.proc = ctx.Process(target=_shipper_process,
                                args=(redis_url, labels, self.ready, self.stop_event))

    def start(self) -> None:
        self.proc.start()
        if not self.ready.wait(60):
            raise RuntimeError("the Shipper did not start")

    def stop(self) -> None:
        self.stop_event.set()
        if self.proc.pid is None:
            return
        self.proc.join(15)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()


# -- 3. latency -------------------------------------------------------------------------


async def measure_latency(plat: Platform, client: redis.Redis, containers: Containers,
                          app: str, seconds: float) -> dict:
    warm(client, app)
    tail = await Tail.open(plat, app)
    n = int(seconds / 0.01)
    pattern = re.compile(rb"lat (\d+\.\d+) end")
    samples: list[tuple[float, float]] = []  # (printed, arrived)
    container = containers.run(app, LATENCY_CODE.format(n=n))
    try:
        buf = tail.carry
        deadline = time.monotonic() + seconds + 60
        while b"lat-done" not in buf and time.monotonic() < deadline:
            data = await asyncio.wait_for(tail.reader.read(1 << 16), 30)
            arrived = time.time()
            if not data:
                break
            buf += data
            end = 0
            for match in pattern.finditer(buf):
                samples.append((float(match.group(1)), arrived))
                end = match.end()
            buf = buf[end:] if end else buf[-4096:]
    finally:
        tail.close()
        with contextlib.suppress(Exception):
            container.wait(timeout=30)
    if not samples:
        return {"samples": 0}
    start = samples[0][0]
    all_ms = [(a - p) * 1000 for p, a in samples]
    steady = [(a - p) * 1000 for p, a in samples if p - start >= 1.0]

    def pct(values: list[float], q: float) -> float:
        values = sorted(values)
        return round(values[min(len(values) - 1, int(q * len(values)))], 1)

    return {
        "lines_printed": n, "samples": len(samples), "steady_samples": len(steady),
        "p50_ms": pct(steady, 0.50), "p90_ms": pct(steady, 0.90), "p99_ms": pct(steady, 0.99),
        "max_ms": pct(steady, 1.0),
        "first_second": {"p50_ms": pct(all_ms[: len(all_ms) - len(steady)] or all_ms, 0.5),
                         "max_ms": pct(all_ms[: len(all_ms) - len(steady)] or all_ms, 1.0)},
        "all_p99_ms": pct(all_ms, 0.99),
    }


# -- main -------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="~1 minute, smaller sizes")
    args = parser.parse_args()
    mode = "quick" if args.quick else "full"
    size = SIZES[mode]
    if not docker_available():
        print("Docker is not available", file=sys.stderr)
        return 1
    info = machine_info()
    started = time.monotonic()
    label = f"bench-logs-{secrets.token_hex(3)}"  # this run's containers only
    tmp = Path(tempfile.mkdtemp(prefix="pier-bench-logs-"))
    plat = Platform(tmp)
    dclient = docker.from_env()
    containers = Containers(dclient, label)
    shipper: ShipperProc | None = None
    result: dict = {"benchmark": "logs", "mode": mode, "machine": info, "params": size,
                    "targets": TARGETS}
    try:
        print(f"starting redis + control plane in {tmp} ...", flush=True)
        plat.start()
        client = redis.Redis.from_url(plat.redis_url)
        for app in ("benchfan", "benchlat"):
            plat.create_app(app)

        print("2. fan-out ...", flush=True)
        result["fanout"] = {
            "1": asyncio.run(measure_fanout(plat, client, "benchfan", 1, size["fan_lines_1"],
                                            60)),
            "100": asyncio.run(measure_fanout(plat, client, "benchfan", 100,
                                              size["fan_lines_100"], 120)),
        }

        print(f"4. memory of {size['idle_tails']} idle tails for {size['idle_s']:g} s ...",
              flush=True)
        plat.start_server(plat.redis_url)  # a fresh worker, as for the tuned run below
        result["memory"] = asyncio.run(measure_memory(
            plat, client, "benchfan", size["idle_tails"], size["idle_s"]))

        n = size["ingest_lines"]
        print(f"1. ingest of {n:,} lines ...", flush=True)
        ingest: dict = {"lines": n}
        ingest["baseline_redis_pipeline"] = baseline_pipeline(client, n)
        ingest["baseline_streamwriter"] = baseline_writer(client, n)
        # backlog: the app has printed everything before the Shipper starts
        container = containers.run("benchback", INGEST_CODE.format(n=n))
        container.wait(timeout=120)
        shipper = ShipperProc(plat.redis_url, {"pier.platform": label})
        shipper.start()
        ingest["backlog"] = wait_ingested(client, applog.stream_key("benchback"), n, 120)
        # live: the Shipper follows the app while it prints
        containers.run("benchlive", INGEST_CODE.format(n=n))
        ingest["live"] = wait_ingested(client, applog.stream_key("benchlive"), n, 120)
        result["ingest"] = ingest

        print(f"3. print-to-tail latency for {size['latency_s']:g} s ...", flush=True)
        result["latency"] = asyncio.run(
            measure_latency(plat, client, containers, "benchlat", size["latency_s"]))

        # redis-py 8's async client holds at most 100 connections and times reads out
        # after 5 s: every waiting tail holds a connection in XREAD BLOCK 15000. Measure
        # the memory again with both raised through REDIS_URL (configuration only).
        print(f"4b. again with REDIS_URL ?{TUNED_QUERY} ...", flush=True)
        plat.start_server(f"{plat.redis_url}?{TUNED_QUERY}")
        result["memory_tuned_url"] = asyncio.run(measure_memory(
            plat, client, "benchfan", size["idle_tails"], size["idle_s"]))
        result["memory_tuned_url"]["redis_url_query"] = TUNED_QUERY
        print("2b. fan-out to 100 tails with the tuned REDIS_URL ...", flush=True)
        result["fanout"]["100_tuned_url"] = asyncio.run(measure_fanout(
            plat, client, "benchfan", 100, size["fan_lines_100"], 120))
    except BaseException:
        log = tmp / "gunicorn.log"
        if log.exists():
            print("--- gunicorn.log (end) ---\n" + "\n".join(
                log.read_text(errors="replace").splitlines()[-40:]), file=sys.stderr)
        raise
    finally:
        if shipper is not None:
            shipper.stop()
        containers.cleanup()
        plat.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    result["elapsed_s"] = round(time.monotonic() - started, 1)
    report(result)
    path = write_result("logs", result)
    print(f"\nwrote {path.relative_to(ROOT)}")
    return 0


def report(result: dict) -> None:
    ing, fan, lat, mem = (result["ingest"], result["fanout"], result["latency"],
                          result["memory"])
    assert fan and lat
    pipe = ing["baseline_redis_pipeline"]["lines_per_s"]
    rows = [
        ["baseline: applog.append, redis-py pipeline", pipe, 1.0],
        ["baseline: StreamWriter Lua batches, no Docker",
         ing["baseline_streamwriter"]["lines_per_s"],
         ratio(ing["baseline_streamwriter"]["lines_per_s"], pipe)],
    ]
    for case in ("backlog", "live"):
        rate = ing[case].get("lines_per_s")
        rows.append([f"Shipper, {case} container", rate, ratio(rate, pipe)])
    rows.append(["(live app's own print rate, Docker ts)", ing["live"].get("app_print_lines_per_s"),
                 ratio(ing["live"].get("app_print_lines_per_s"), pipe)])
    print(f"\n1. Ingest, {ing['lines']:,} lines of ~100 bytes, one app")
    print(table(["path", "lines/s", "x pipeline"], rows))

    one = fan["1"]
    rows = []
    for key in ("1", "100", "100_tuned_url"):
        f = fan[key]
        name = f"{f['tails']} tail(s), {f['lines']:,} lines" + (", tuned" if "tuned" in key else "")
        rows.append([name, f["append_lines_per_s"],
                     f["per_tail_lines_per_s_median"], f["per_tail_lines_per_s_min"],
                     f["aggregate_lines_per_s"],
                     ratio(f["per_tail_lines_per_s_median"], one["per_tail_lines_per_s_median"]),
                     f["lines_missing"], f["lag_after_append_s"],
                     f["tails_failed_to_open"] + f["tails_broken"] + f["tails_timed_out"]])
    print("\n2. Fan-out (lines appended with applog.append while the tails read)")
    print(table(["tails", "appended/s", "per tail/s", "slowest/s", "total/s",
                 "x 1 tail", "missing", "lag s", "bad tails"], rows))

    print("\n3. Print-to-tail latency (10 ms cadence; first second apart)")
    print(table(["", "samples", "p50 ms", "p90 ms", "p99 ms", "max ms", "first-s max ms"],
                [["steady", lat.get("steady_samples"), lat.get("p50_ms"), lat.get("p90_ms"),
                  lat.get("p99_ms"), lat.get("max_ms"),
                  lat.get("first_second", {}).get("max_ms")]]))

    print(f"\n4. Memory of the gunicorn worker, {mem['tails_attempted']} idle tails attempted")
    rows = []
    for name, m in (("as shipped", mem), ("tuned URL", result["memory_tuned_url"])):
        rows.append([name, m["tails_open"], m["tails_failed"], m["tails_alive_at_ping"],
                     m["rss_before_mb"],
                     m["rss_with_tails_mb"], m["extra_mb"], m["per_open_tail_kb"],
                     m["ratio_to_before"], m["rss_after_close_mb"],
                     m["redis_connections_held"]])
    print(table(["REDIS_URL", "open", "failed", f"alive@{mem['idle_s']:g}s", "before MB",
                 "with MB", "extra MB", "KB/tail", "x before", "closed MB", "redis conns"], rows))

    live = ing["live"].get("lines_per_s") or 0
    met = {
        "ingest_live_ge_20000_lines_per_s": live >= TARGETS["ingest_lines_per_s"],
        "ingest_backlog_ge_20000_lines_per_s":
            (ing["backlog"].get("lines_per_s") or 0) >= TARGETS["ingest_lines_per_s"],
        "p99_print_to_tail_lt_250_ms":
            lat.get("p99_ms") is not None and lat["p99_ms"] < TARGETS["p99_ms"],
        "500_idle_tails_extra_lt_100_mb": (
            mem["tails_alive_at_ping"] == mem["tails_attempted"]
            and mem["extra_mb"] < TARGETS["idle_tails_extra_mb"]),
        "500_idle_tails_extra_lt_100_mb_tuned_url": (
            result["memory_tuned_url"]["tails_alive_at_ping"] == mem["tails_attempted"]
            and result["memory_tuned_url"]["extra_mb"] < TARGETS["idle_tails_extra_mb"]),
    }
    result["targets_met"] = met
    print("\nTargets: " + ", ".join(f"{k}={'yes' if v else 'NO'}" for k, v in met.items()))


if __name__ == "__main__":
    sys.exit(main())
