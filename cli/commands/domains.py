"""pier domains, domains:add, domains:remove."""

import click

from cli.client import api_path
from cli.commands.listing import app_list_command
from cli.commands.options import app_command
from cli.context import Env
from cli.output import format_time

domains_list = app_list_command(
    "domains",
    help="List an app's custom domains.",
    empty="{app} has no custom domains: add one with `pier domains:add HOST`.",
    headers=["hostname", "cname", "added"],
    row=lambda d: [d["hostname"], d["cname"], format_time(d["created_at"])],
)


@app_command("domains:add", json=True)
@click.argument("hostname")
def domains_add(env: Env, hostname: str, app: str | None, as_json: bool) -> None:
    """Route a hostname to the app."""
    name = env.app(app)
    data = env.client().post(api_path("apps", name, "domains"), {"hostname": hostname})
    if as_json:
        env.out.json(data)
        return
    env.out.success(f"Added {data['hostname']} to {name}")
    env.out.note(f"Point a CNAME record for {data['hostname']} at {data['cname']}")


@app_command("domains:remove")
@click.argument("hostname")
def domains_remove(env: Env, hostname: str, app: str | None) -> None:
    """Stop routing a hostname to the app."""
    name = env.app(app)
    env.client().delete(api_path("apps", name, "domains", hostname))
    env.out.success(f"Removed {hostname} from {name}")


COMMANDS = [domains_list, domains_add, domains_remove]
