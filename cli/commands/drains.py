"""pier drains, drains:add, drains:remove: forward an app's log stream to syslog/HTTPS URLs."""

import click

from cli.client import api_path
from cli.commands.listing import app_list_command
from cli.commands.options import app_command
from cli.context import Env
from cli.output import format_time

drains_list = app_list_command(
    "drains",
    help="List the log drains of an app.",
    empty="{app} has no log drains: add one with `pier drains:add URL`.",
    headers=["url", "added"],
    row=lambda d: [d["url"], format_time(d.get("created_at"))],
)


@app_command("drains:add", json=True)
@click.argument("url")
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


@app_command("drains:remove")
@click.argument("url")
def drains_remove(env: Env, url: str, app: str | None) -> None:
    """Stop sending the app's logs to URL."""
    name = env.app(app)
    env.client().delete(api_path("apps", name, "drains", url))
    env.out.success(f"Removed drain {url} from {name}")


COMMANDS = [drains_list, drains_add, drains_remove]
