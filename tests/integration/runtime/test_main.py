"""``python -m runtime`` against real Docker and the real router, one pass per process run."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest
from rt_helpers import make_app

from runtime.desired import desired_to_json

pytestmark = pytest.mark.docker


def test_each_pass_from_a_fresh_process_converges(tmp_path, live_router, backend, session_label):
    state_dir, port, access_log = live_router
    desired = tmp_path / "desired.json"
    desired.write_text(desired_to_json([make_app("rt-main")]))
    command = [
        sys.executable,
        "-m",
        "runtime",
        "--once",
        "--desired",
        str(desired),
        "--router-dir",
        str(state_dir),
        "--router-listen",
        f"127.0.0.1:{port}",
        "--access-log",
        access_log,
        "--label",
        f"pier.test={session_label}",
    ]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        subprocess.run(command, check=False, capture_output=True, timeout=60)
        response = httpx.get(f"http://127.0.0.1:{port}/", headers={"Host": "rt-main.localhost"})
        if response.status_code == 200:
            break
        time.sleep(0.3)
    assert response.text == "release 1\n"
    ids = {p.container_id for p in backend.list_processes("rt-main")}
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert {p.container_id for p in backend.list_processes("rt-main")} == ids  # adopted
