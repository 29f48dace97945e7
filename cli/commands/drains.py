"""pier drains, drains:add, drains:remove: forward an app's log stream to syslog/HTTPS URLs."""

import click

from cli.client import api_path
from cli.commands.options import app_option, json_option, pass_env
from cli.context import Env
from cli.output import format_time


@click.command("drains")
@app_option
@json_option
@pass_env
def drains_list(env: Env, app: str | None, as_json: bool) -> None:
    """List the log drains of an app."""
    name = env.app(app)
    env.out.listing(
        env.client().get(api_path("apps", name, "drains")),
        as_json=as_json,
        empty=f"{name} has no log drains: add one with `pier drains:add URL`.",
        headers=["url", "added"],
        row=lambda d: [d["url"], format_time(d.get("created_at"))],
    )


@click.command("drains:add")
@click.argument("url")
@app_option
@json_option
@pass_env
def drains_add(env: Env, url: str, app: str | None, as_json: bool) -> None:
    """Send the app's logs to URL as well.

    URL is where the server forwards them, e.g. syslog+tls://host:port or https://...
    """
    name = env.app(app)
    data = env.client().post(api_path("apps", name, "drains"), {"url": url})
    if as_json:
        env.out.json(data)
        return
    env.out.success(f"Added drain {(data or {}).get('url') or url} to {name}")


@click.command("drains:remove")
@click.argument("url")
@app_option
@pass_env
def drains_remove(env: Env, url: str, app: str | None) -> None:
    """Stop sending the app's logs to URL."""
    name = env.app(app)
    env.client().delete(api_path("apps", name, "drains", url))
    env.out.success(f"Removed drain {url} from {name}")


COMMANDS = [drains_list, drains_add, drains_remove]
