"""Shared helpers of the benchmarks: machine info, result files, tables, ports, waiting."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def machine_info() -> dict:
    """What a reader needs to judge the numbers: cores, memory, load, versions, date."""
    info = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "loadavg_at_start": list(os.getloadavg()),
    }
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["mem_total_mb"] = int(line.split()[1]) // 1024
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                capture_output=True, text=True, check=True).stdout.strip()
        info["commit"] = commit
    except (OSError, subprocess.CalledProcessError):
        pass
    return info


def write_result(name: str, data: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    return path


def table(headers: list[str], rows: list[list]) -> str:
    """Return a plain-text table; floats get 2 decimals unless already strings."""

    def cell(value) -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:,.2f}"
        return str(value)

    text = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in text)) if text else len(h)
              for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    for row in text:
        lines.append("  ".join(
            v.ljust(w) if i == 0 else v.rjust(w)
            for i, (v, w) in enumerate(zip(row, widths, strict=True))
        ))
    return "\n".join(lines)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(host: str, port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {host}:{port} after {timeout:g}s")


def ratio(a: float | None, b: float | None) -> float | None:
    if not a or not b:
        return None
    return round(a / b, 3)


def docker_available() -> bool:
    script = ROOT / "scripts" / "ensure-docker.sh"
    if subprocess.run(["docker", "info"], capture_output=True).returncode == 0:
        return True
    return subprocess.run(["bash", str(script)]).returncode == 0


def require_docker() -> None:
    """Exit with a hint unless a Docker Engine runs (after ensure-docker.sh tried to start one)."""
    if not docker_available():
        sys.exit("no Docker Engine: scripts/ensure-docker.sh")


def parse_count(parser: argparse.ArgumentParser, name: str, *, quick: int, full: int,
                quick_help: str, help: str) -> tuple[argparse.Namespace, int]:
    """Parse the command line with ``--quick`` and ``--NAME N`` added; return the arguments
    and how many to run: N when given, else ``quick`` with --quick, else ``full``."""
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument(f"--{name}", type=int, help=f"{help} (default {full})")
    args = parser.parse_args()
    return args, getattr(args, name) or (quick if args.quick else full)
