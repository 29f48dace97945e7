"""`pier run` on a terminal, end to end: a real container with a TTY, over the WebSocket."""

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from websockets.sync.client import connect

from tests.helpers import terminal_output

pytestmark = pytest.mark.docker

# Docker can only size a terminal once the process runs, so in its very first instant the
# terminal may still be 0x0: LINES and COLUMNS carry the size from the start (as with
# `heroku run`), and `stty size` is read after the first key.
SCRIPT = "echo env-$LINES-$COLUMNS; read x; stty size; echo got-$x; exit 3"


def attach_url(platform, app: str) -> str:
    return platform.url.replace("http://", "ws://") + f"/api/apps/{app}/dynos/attach"


def test_keys_in_screen_out_resize_and_exit_status(platform, pushed):
    app, _ = pushed()
    headers = {"Authorization": f"Bearer {platform.token}"}
    with connect(attach_url(platform, app), additional_headers=headers, max_size=None) as ws:
        ws.send(json.dumps({"command": f"sh -c '{SCRIPT}'", "rows": 30, "cols": 100}))
        ws.send(json.dumps({"resize": [40, 120]}))
        time.sleep(1)
        ws.send(b"hello\r")  # Enter, as a terminal sends it
        screen, code = terminal_output(ws)
    assert code == 3
    assert b"env-30-100" in screen
    assert b"40 120" in screen and b"got-hello" in screen


def test_a_bad_token_is_refused_with_a_reason(platform, pushed):
    app, _ = pushed()
    with connect(attach_url(platform, app),
                 additional_headers={"Authorization": "Bearer nope"}) as ws:
        ws.send(json.dumps({"command": "sh"}))
        answer = json.loads(ws.recv(timeout=30))
    assert answer["status"] == 401 and "pier login" in answer["error"]


def test_the_cli_gives_the_process_this_terminal(platform, pushed):
    app, _ = pushed()
    leader, follower = pty.openpty()
    env = {**os.environ, "PIER_API_URL": platform.url, "PIER_API_KEY": platform.token}
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "pier"), "run", "-a", app, "--", "sh", "-c", SCRIPT],
        stdin=follower, stdout=follower, stderr=follower, env=env, close_fds=True,
    )
    os.close(follower)
    screen, typed = b"", False
    deadline = time.monotonic() + 120
    try:
        while b"got-hello" not in screen and time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 1)
            if ready:
                try:
                    screen += os.read(leader, 4096)
                except OSError:  # the command ended and closed the terminal
                    break
            if not typed and b"up" in screen:
                time.sleep(1)
                os.write(leader, b"hello\r")
                typed = True
        assert process.wait(60) == 3, screen
    finally:
        os.close(leader)
        if process.poll() is None:
            process.kill()
    assert b"got-hello" in screen
    rows_cols = [line for line in screen.replace(b"\r", b"").split(b"\n")
                 if line.strip() and all(p.isdigit() for p in line.split())]
    assert rows_cols  # `stty size` saw a real terminal size, this one's
