"""pier metrics, ps:autoscale:enable, ps:autoscale:disable."""

from urllib.parse import urlencode

import click

from cli.client import api_path
from cli.commands.options import app_command
from cli.context import Env
from cli.output import format_time
from runtime import durations

ROWS = 12  # points shown in the table unless --step asks for more


def _ms(value) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def _summary(env: Env, data: dict) -> None:
    s = data["summary"]
    status = "  ".join(f"{k} {v}" for k, v in s["status"].items())
    env.out.line(f"requests   {s['requests']} ({s['rps']:.2f} req/s)   {status}")
    env.out.line(f"latency    p50 {_ms(s['p50'])}   p95 {_ms(s['p95'])}   p99 {_ms(s['p99'])}")
    env.out.line(f"restarts   {s['restarts']}   OOM kills {s['oom_kills']}")
    for release in data["releases"]:
        env.out.line(f"deployed   v{release['version']} at {format_time(release['time'])}: "
                     f"{release['description']}")


@app_command("metrics", json=True)
@click.option("--since", default="1h", show_default=True,
              help="How far back: 30m, 1h, 24h, 7d (kept: 1 h at 10 s, 24 h at 1 min, 7 d).")
@click.option("--step", help="Seconds (or 5m, 1h) per row; default: about 12 rows.")
def metrics(env: Env, app: str | None, since: str, step: str | None, as_json: bool) -> None:
    """Show an app's requests, status classes, latency percentiles, CPU, memory, restarts."""
    name = env.app(app)
    if step is None and (seconds := durations.seconds(since)):
        step = str(max(10, seconds // ROWS))
    query = urlencode({"since": since, **({"step": step} if step else {})})
    data = env.client().get(f"{api_path('apps', name, 'metrics')}?{query}")
    if as_json:
        env.out.json(data)
        return
    env.out.heading(f"{name}: last {since}, {data['step']} s per row")
    _summary(env, data)
    processes = data["summary"]["processes"]
    if processes:
        env.out.line()
        env.out.table(
            ["process", "cpu", "memory", "limit", "of limit"],
            [[dyno, f"{p['cpu_percent']}%" if p["cpu_percent"] is not None else "-",
              f"{p['memory_mb']} MB", f"{p['memory_limit_mb']} MB" if p["memory_limit_mb"]
              else "-", f"{p['memory_percent']}%" if p["memory_percent"] is not None else "-"]
             for dyno, p in processes.items()],
        )
    if not data["points"]:
        env.out.note(f"no metrics for {name} in the last {since} yet")
        return
    env.out.line()
    env.out.table(
        ["time", "req/s", "2xx", "3xx", "4xx", "5xx", "p50", "p95", "p99", "restarts"],
        [[format_time(p["time"]), f"{p['rps']:.2f}", *p["status"].values(), _ms(p["p50"]),
          _ms(p["p95"]), _ms(p["p99"]), p["restarts"] + p["oom_kills"]]
         for p in data["points"]],
    )


@app_command("ps:autoscale:enable", json=True)
@click.argument("ptype", default="web", metavar="[TYPE]")
@click.option("--min", "minimum", type=int, required=True, help="Fewest processes.")
@click.option("--max", "maximum", type=int, required=True, help="Most processes.")
@click.option("--p95", type=int, required=True,
              help="Target 95th percentile response time, in ms.")
def autoscale_enable(env: Env, ptype: str, minimum: int, maximum: int, p95: int,
                     app: str | None, as_json: bool) -> None:
    """Scale web processes between --min and --max to keep p95 under --p95 ms."""
    name = env.app(app)
    rows = env.client().put(api_path("apps", name, "formation", ptype, "autoscale"),
                            {"min": minimum, "max": maximum, "p95_ms": p95})
    if as_json:
        env.out.json(rows)
        return
    row = next(r for r in rows if r["type"] == ptype)
    env.out.success(f"Autoscaling {ptype} of {name}: {minimum}..{maximum} processes for a "
                    f"p95 under {p95} ms (now {row['quantity']})")


@app_command("ps:autoscale:disable")
@click.argument("ptype", default="web", metavar="[TYPE]")
def autoscale_disable(env: Env, ptype: str, app: str | None) -> None:
    """Stop autoscaling; the processes stay at their current quantity."""
    name = env.app(app)
    env.client().delete(api_path("apps", name, "formation", ptype, "autoscale"))
    env.out.success(f"Autoscaling of {ptype} disabled for {name}")


COMMANDS = [metrics, autoscale_enable, autoscale_disable]
