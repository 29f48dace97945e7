"""pier ps, ps:scale, ps:restart, ps:type, ps:sleep:enable, ps:sleep:disable."""

import re
from dataclasses import dataclass

import click

from cli.client import api_path
from cli.commands.options import app_command
from cli.context import Env
from cli.errors import CliError
from cli.output import format_time, format_version

# The type is matched lazily so `web-1` reads as "web minus one", while `my-worker=2`
# still finds the type `my-worker` by backtracking.
SCALE_RE = re.compile(
    r"^(?P<type>[a-z][a-z0-9_-]*?)"
    r"(?:=(?P<quantity>\d+)(?::(?P<size>[a-z][a-z0-9-]*))?"
    r"|=(?P<size_only>[a-z][a-z0-9-]*)"
    r"|(?P<op>[+-])(?P<delta>\d+))$"
)
TYPE_SIZE_RE = re.compile(r"^(?P<type>[a-z][a-z0-9_-]*)=(?P<size>[a-z][a-z0-9-]*)$")


@dataclass(frozen=True)
class Scale:
    type: str
    quantity: int | None = None
    delta: int | None = None
    size: str | None = None


def parse_scale(arg: str) -> Scale:
    """Parse `web=2`, `web=2:large`, `web=large`, `web+1` or `web-1`."""
    match = SCALE_RE.match(arg.strip().lower())
    if not match:
        raise click.BadParameter(
            f"{arg!r} is not TYPE=N, TYPE=N:SIZE, TYPE+N or TYPE-N (e.g. web=2:large)",
            param_hint="TYPE=N",
        )
    g = match.groupdict()
    if g["op"]:
        delta = int(g["delta"]) * (-1 if g["op"] == "-" else 1)
        return Scale(type=g["type"], delta=delta)
    quantity = int(g["quantity"]) if g["quantity"] is not None else None
    return Scale(type=g["type"], quantity=quantity, size=g["size"] or g["size_only"])


def scale_updates(scales: list[Scale], formation: list[dict] | None) -> list[dict]:
    """Return the PATCH updates for scales; relative ones are resolved against formation."""
    current = {row["type"]: row["quantity"] for row in formation or []}
    updates = []
    for scale in scales:
        update: dict = {"type": scale.type}
        if scale.delta is not None:
            if scale.type not in current:
                known = ", ".join(sorted(current)) or "none"
                raise CliError(f"no process type {scale.type!r} to scale; known: {known}")
            quantity = current[scale.type] + scale.delta
            if quantity < 0:
                raise CliError(f"cannot scale {scale.type} below 0 (it runs {current[scale.type]})")
            update["quantity"] = quantity
        elif scale.quantity is not None:
            update["quantity"] = scale.quantity
        if scale.size:
            update["size"] = scale.size
        updates.append(update)
    return updates


def _formation_summary(rows: list[dict]) -> str:
    return " ".join(f"{r['type']}={r['quantity']}:{r['size']}" for r in rows)


@app_command("ps", json=True)
def ps_list(env: Env, app: str | None, as_json: bool) -> None:
    """List an app's processes and their state (and whether it sleeps)."""
    name = env.app(app)
    client = env.client()
    dynos = client.get(api_path("apps", name, "dynos"))
    sleep = None if as_json else client.get(api_path("apps", name, "sleep"))
    asleep = sleep is not None and sleep["sleeping"]
    headers = ["name", "state", "release", "size", "started", "restarts", "command"]
    # Where each process runs, once apps run on several machines (the Swarm backend).
    on_nodes = any(d.get("node") for d in dynos)
    env.out.listing(
        dynos,
        as_json=as_json,
        empty=None if asleep else f"{name} runs no processes: deploy, then `pier ps:scale web=1`.",
        headers=headers + ["node"] if on_nodes else headers,
        row=lambda d: [d["name"], d["state"], format_version(d.get("release")), d["size"],
                       format_time(d.get("started_at")), d.get("restarts", 0), d["command"]]
        + ([d.get("node") or ""] if on_nodes else []),
    )
    if sleep is not None and sleep["enabled"]:
        env.out.line(f"Sleep: {sleep_summary(sleep)}")


def sleep_summary(sleep: dict) -> str:
    """Say how an app sleeps: off, awake with its setting, or asleep since when."""
    if not sleep["enabled"]:
        return "off"
    if sleep["sleeping"]:
        return (f"asleep since {format_time(sleep['since'])} (after {sleep['after']} without "
                "requests); the next request wakes it")
    return f"after {sleep['after']} without requests (awake)"


@app_command("ps:sleep:enable", json=True)
@click.option("--after", required=True, metavar="DURATION",
              help="Time without requests before web processes stop: 30m, 1h, 90s, 2d.")
def ps_sleep_enable(env: Env, after: str, app: str | None, as_json: bool) -> None:
    """Stop the web processes after a time without requests; the next request wakes them.

    Other process types keep running. While asleep, requests are held until a web
    process is up, then answered.
    """
    name = env.app(app)
    sleep = env.client().post(api_path("apps", name, "sleep"), {"after": after})
    if as_json:
        env.out.json(sleep)
    else:
        env.out.success(f"Sleep enabled for {name}: web processes stop after {sleep['after']} "
                        "without requests")


@app_command("ps:sleep:disable", json=True)
def ps_sleep_disable(env: Env, app: str | None, as_json: bool) -> None:
    """Keep the web processes running (a sleeping app wakes now)."""
    name = env.app(app)
    sleep = env.client().delete(api_path("apps", name, "sleep"))
    if as_json:
        env.out.json(sleep)
    else:
        env.out.success(f"Sleep disabled for {name}: its web processes keep running")


@app_command("ps:scale", json=True)
@click.argument("changes", nargs=-1, metavar="TYPE=N[:SIZE]...")
def ps_scale(env: Env, changes: tuple[str, ...], app: str | None, as_json: bool) -> None:
    """Scale process types, or show the formation.

    Examples: `web=2 worker=1`, `web=2:large`, `web+1`, `web-1`.
    """
    name = env.app(app)
    client = env.client()
    path = api_path("apps", name, "formation")
    scales = [parse_scale(arg) for arg in changes]
    if not scales:
        rows = client.get(path)
    else:
        relative = any(s.delta is not None for s in scales)
        updates = scale_updates(scales, client.get(path) if relative else None)
        rows = client.patch(path, {"updates": updates})
    if as_json:
        env.out.json(rows)
    elif not rows:
        env.out.note(f"{name} has no process types yet: deploy with `git push pier main`.")
    elif scales:
        env.out.success(f"Scaled {name}: {_formation_summary(rows)}")
    else:
        env.out.line(_formation_summary(rows))


@app_command("ps:restart")
@click.argument("target", required=False, metavar="[TYPE|TYPE.N]")
def ps_restart(env: Env, target: str | None, app: str | None) -> None:
    """Restart all processes, those of one type, or one process."""
    name = env.app(app)
    answer = env.client().post(api_path("apps", name, "dynos", "restart"), {"target": target})
    env.out.success(answer.get("message") or f"Restarting {target or 'all processes'} of {name}")


@app_command("ps:type", json=True)
@click.argument("changes", nargs=-1, metavar="[TYPE=SIZE...|SIZE]")
def ps_type(env: Env, changes: tuple[str, ...], app: str | None, as_json: bool) -> None:
    """Show or set process sizes.

    `pier ps:type web=large` sizes one type; `pier ps:type large` sizes them all.
    """
    name = env.app(app)
    client = env.client()
    path = api_path("apps", name, "formation")
    rows = client.get(path) if not changes or any("=" not in c for c in changes) else None
    if changes:
        rows = client.patch(path, {"updates": _size_updates(changes, rows)})
    if as_json:
        env.out.json(rows)
    elif not rows:
        env.out.note(f"{name} has no process types yet: deploy with `git push pier main`.")
    else:
        env.out.table(
            ["type", "size", "quantity"], [[r["type"], r["size"], r["quantity"]] for r in rows]
        )


def _size_updates(changes: tuple[str, ...], formation: list[dict] | None) -> list[dict]:
    updates = []
    for change in changes:
        if "=" not in change:
            updates += [{"type": row["type"], "size": change.lower()} for row in formation or []]
            continue
        match = TYPE_SIZE_RE.match(change.strip().lower())
        if not match:
            raise click.BadParameter(f"{change!r} is not TYPE=SIZE (e.g. web=large)")
        updates.append({"type": match["type"], "size": match["size"]})
    if not updates:
        raise CliError("the app has no process types to resize yet")
    return updates


COMMANDS = [ps_list, ps_scale, ps_restart, ps_type, ps_sleep_enable, ps_sleep_disable]
