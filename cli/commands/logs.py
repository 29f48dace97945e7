"""pier logs: an app's recent log lines, and with --tail the live stream, surviving restarts."""

import re
import time
import zlib

import click

from cli import sse
from cli.client import Client, api_path
from cli.commands.options import app_command
from cli.context import Env
from cli.errors import ApiError, CannotConnect
from cli.output import log_text

SOURCES = ("app", "router", "pier")
# Reconnect delays of a --tail whose connection dropped: doubling from the first to the last.
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 5.0
LINE_RE = re.compile(r"^(?P<ts>\S+) (?P<who>[a-z]+\[[^\]]*\]):(?P<rest>.*)$", re.DOTALL)
PALETTE = ("cyan", "green", "magenta", "blue", "bright_cyan", "bright_green", "bright_blue")

_sleep = time.sleep  # tests replace it to record the backoff without waiting


@app_command("logs")
@click.option(
    "-n",
    "--num",
    "lines",
    type=click.IntRange(min=0),
    default=100,
    show_default=True,
    help="How many recent lines to print.",
)
@click.option(
    "-t", "--tail", is_flag=True, help="Keep printing new lines as they come (Ctrl-C stops)."
)
@click.option("-s", "--source", type=click.Choice(SOURCES), help="Only lines from this source.")
@click.option(
    "-d",
    "--dyno",
    metavar="TYPE[.N]",
    help="Only lines of one process type (web) or one process (web.2).",
)
def logs(
    env: Env, lines: int, tail: bool, source: str | None, dyno: str | None, app: str | None
) -> None:
    """Show an app's logs, or follow them with --tail.

    Lines come from its processes (source app), the router and Pier itself (pier).

    With --tail, keeps following them, reconnecting (without gaps or repeats) when the
    connection drops, for example while Pier restarts.
    """
    name = env.app(app)
    params: dict = {"lines": lines}
    if tail:
        params["tail"] = "true"
    if source:
        params["source"] = source
    if dyno:
        params["dyno"] = dyno
    client = env.client()
    path = api_path("apps", name, "log-stream")
    try:
        if tail:
            _follow(env, client, path, params)
        else:
            _history(env, client, path, params)
    except KeyboardInterrupt:
        return  # Ctrl-C is how one stops a tail: not an error


def _history(env: Env, client: Client, path: str, params: dict) -> None:
    with client.stream("GET", path, params=params, headers={"Accept": "text/plain"}) as response:
        with client.transport_errors():
            for line in sse.lines(response.iter_text()):
                _print(env, line)


def _follow(env: Env, client: Client, path: str, params: dict) -> None:
    """Print the stream as SSE events; on a drop, reconnect after the last event printed.

    The first connection must succeed (a wrong URL or app should fail at once); after that,
    dropped connections and 5xx answers (Pier restarting) are retried, backing off from
    BACKOFF_FIRST to BACKOFF_MAX seconds. 4xx answers (token revoked, app gone) stop it.
    """
    last_id: str | None = None
    delay = BACKOFF_FIRST
    connected = lost = False
    while True:
        headers = {"Accept": "text/event-stream"}
        if last_id is not None:
            headers["Last-Event-ID"] = last_id
        try:
            with client.stream("GET", path, params=params, headers=headers) as response:
                connected = True
                if lost:
                    env.out.note("Reconnected.")
                    lost = False
                parser = sse.EventParser(last_id)
                with client.transport_errors():
                    for line in sse.lines(response.iter_text()):
                        delay = BACKOFF_FIRST  # the server talks again: back off afresh
                        event = parser.feed(line)
                        if event is not None:
                            _print(env, event.data)
                            last_id = event.id
        except (CannotConnect, ApiError) as e:
            if not connected or not _transient(e):
                raise
        if not lost:
            env.out.note("Connection to Pier lost; reconnecting...")
            lost = True
        _sleep(delay)
        delay = min(delay * 2, BACKOFF_MAX)


def _transient(error: Exception) -> bool:
    """Whether a tail should retry after error: a lost connection or a failing server."""
    return isinstance(error, CannotConnect) or (isinstance(error, ApiError) and error.status >= 500)


def _print(env: Env, line: str) -> None:
    """Print one log line (flushed at once), its `source[dyno]` in colour on a terminal."""
    line = log_text(line)
    if env.out.tty:
        match = LINE_RE.match(line)
        if match:
            line = (
                click.style(match["ts"], dim=True)
                + " "
                + click.style(match["who"], fg=_colour(match["who"]))
                + ":"
                + match["rest"]
            )
    click.echo(line, color=env.out.tty)


def _colour(who: str) -> str:
    """Return a colour for `source[dyno]`: one per process, stable from run to run."""
    if who.startswith("pier["):
        return "yellow"
    if who.startswith("router["):
        return "bright_black"
    dyno = who[who.index("[") + 1 : -1]
    return PALETTE[zlib.crc32(dyno.encode()) % len(PALETTE)]


COMMANDS = [logs]
