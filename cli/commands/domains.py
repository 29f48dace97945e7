"""pier domains, domains:add, domains:remove."""

import click

from cli.client import api_path
from cli.commands.options import app_option, json_option, pass_env
from cli.context import Env
from cli.output import format_time


@click.command("domains")
@app_option
@json_option
@pass_env
def domains_list(env: Env, app: str | None, as_json: bool) -> None:
    """List an app's custom domains."""
    name = env.app(app)
    env.out.listing(
        env.client().get(api_path("apps", name, "domains")),
        as_json=as_json,
        empty=f"{name} has no custom domains: add one with `pier domains:add HOST`.",
        headers=["hostname", "cname", "added"],
        row=lambda d: [d["hostname"], d["cname"], format_time(d["created_at"])],
    )


@click.command("domains:add")
@click.argument("hostname")
@app_option
@json_option
@pass_env
def domains_add(env: Env, hostname: str, app: str | None, as_json: bool) -> None:
    """Route a hostname to the app."""
    name = env.app(app)
    data = env.client().post(api_path("apps", name, "domains"), {"hostname": hostname})
    if as_json:
        env.out.json(data)
        return
    env.out.success(f"Added {data['hostname']} to {name}")
    env.out.note(f"Point a CNAME record for {data['hostname']} at {data['cname']}")


@click.command("domains:remove")
@click.argument("hostname")
@app_option
@pass_env
def domains_remove(env: Env, hostname: str, app: str | None) -> None:
    """Stop routing a hostname to the app."""
    name = env.app(app)
    env.client().delete(api_path("apps", name, "domains", hostname))
    env.out.success(f"Removed {hostname} from {name}")


COMMANDS = [domains_list, domains_add, domains_remove]
