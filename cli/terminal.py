"""`pier run` from a terminal: the process gets a terminal of its own, keys go to it and
its screen comes back, over the API's WebSocket (see platform/api/attach.py)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import termios
import threading
import tty

import click
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
from websockets.sync.client import connect

from cli.client import Client, api_path
from cli.errors import CliError


def both_ends_are_terminals() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def websocket_url(client: Client, path: str) -> str:
    base = client.api_url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
    return f"{base}/api/{path}"


def run_on_terminal(client: Client, app: str, command: str, size: str) -> int:
    """Run command with this terminal as its own; return its exit status."""
    return terminal_session(client, api_path("apps", app, "dynos", "attach"),
                            {"command": command, "size": size})


def addon_shell(env, topic: str, addon: str | None, app: str | None) -> int:
    """Run an add-on's client (`pier pg:psql`, `pier redis:cli`) on this terminal."""
    if not both_ends_are_terminals():
        command = click.get_current_context().info_name
        raise CliError(f"`pier {command}` needs a terminal (stdin and stdout)",
                       hint="from a script, connect from a one-off: `pier run -a APP -- ...`")
    params = {"addon": addon} if addon else {}
    return terminal_session(env.client(), api_path("apps", env.app(app), topic, "shell"), params)


def terminal_session(client: Client, path: str, params: dict) -> int:
    """Open the terminal session at path (``params`` say what runs); return its exit status."""
    if not client.token:
        raise CliError("not logged in", hint="run `pier login`, or set PIER_API_KEY")
    rows, cols = _terminal_size()
    headers = {"Authorization": f"Bearer {client.token}"}
    try:
        with connect(websocket_url(client, path), additional_headers=headers,
                     max_size=None, open_timeout=30) as ws:
            ws.send(json.dumps({**params, "rows": rows, "cols": cols}))
            with _raw_terminal(ws):
                return _copy_screen(ws)
    except InvalidStatus as e:
        raise CliError(f"the server refused the terminal session ({e.response.status_code})",
                       hint="is the API server up to date? `pier run --no-tty` still works") from e
    except (OSError, WebSocketException) as e:
        raise CliError(f"the terminal session broke: {e}") from e


def _copy_screen(ws) -> int:
    out = sys.stdout.buffer
    try:
        for message in ws:
            if isinstance(message, bytes):
                out.write(message)
                out.flush()
                continue
            answer = json.loads(message)
            if "error" in answer:
                raise CliError(str(answer["error"]))
            if "exit_code" in answer:
                return int(answer["exit_code"])
    except ConnectionClosed:
        pass
    raise CliError("the connection closed before the command finished: its exit status is unknown")


@contextlib.contextmanager
def _raw_terminal(ws):
    """Keys go to the process as typed (Ctrl-C included); the terminal is put back after."""
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    done = threading.Event()

    def keys():
        while not done.is_set():
            try:
                data = os.read(fd, 1024)
                if not data:
                    return
                ws.send(data)
            except (OSError, ConnectionClosed):
                return

    def resized(_signum, _frame):
        with contextlib.suppress(ConnectionClosed, OSError):
            ws.send(json.dumps({"resize": list(_terminal_size())}))

    previous = signal.signal(signal.SIGWINCH, resized)
    tty.setraw(fd)
    threading.Thread(target=keys, daemon=True, name="pier-keys").start()
    try:
        yield
    finally:
        done.set()
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        signal.signal(signal.SIGWINCH, previous)


def _terminal_size() -> tuple[int, int]:
    try:
        size = os.get_terminal_size(sys.stdout.fileno())
    except OSError:
        return 24, 80
    return size.lines, size.columns
