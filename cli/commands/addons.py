"""pier addons, addons:create, addons:info, addons:attach, addons:detach, addons:destroy."""

import time
from urllib.parse import quote

import click

from cli.client import api_path
from cli.commands.listing import app_list_command
from cli.commands.options import app_command, json_option, pass_env
from cli.context import Env
from cli.errors import CliError
from cli.output import format_time
from cli.terminal import addon_shell

POLL_SECONDS = 1.0
WAIT_SECONDS = 900  # a 1 GB restore takes minutes; a worker that is down, forever


def _attached_to(addon: dict) -> str:
    return ", ".join(f"{a['app']} ({a['config_var']})" for a in addon["attachments"])


def wait_while(env: Env, name: str, state: str) -> dict:
    """Poll the add-on until it leaves ``state``, a dot per second on stderr; return it."""
    client, deadline = env.client(), time.monotonic() + WAIT_SECONDS
    addon = client.get(api_path("addons", name))
    while addon["state"] == state:
        if time.monotonic() > deadline:
            raise CliError(f"{name} is still {state} after {WAIT_SECONDS // 60} minutes",
                           hint=f"is the worker running? see `pier addons:info {name}`")
        click.echo(".", nl=False, err=True)
        time.sleep(POLL_SECONDS)
        addon = client.get(api_path("addons", name))
    click.echo(" done" if not addon["last_error"] else " failed", err=True)
    if addon["last_error"]:
        raise CliError(addon["last_error"], hint=f"see `pier addons:info {name}`")
    return addon


def addon_shell_command(name: str, *, topic: str, help: str) -> click.Command:
    """Declare `pier NAME [DATABASE]`, which opens the client of the app's ``topic`` add-on
    (psql, redis-cli) on this terminal."""

    def command(ctx: click.Context, env: Env, database: str | None, app: str | None) -> None:
        ctx.exit(addon_shell(env, topic, database, app))

    command.__doc__ = help
    return app_command(name)(click.argument("database", required=False)(
        click.pass_context(command)))


addons_list = app_list_command(
    "addons",
    help="List the add-ons attached to an app.",
    empty="{app} has no add-ons: create one with `pier addons:create postgresql`.",
    headers=["name", "service", "plan", "state", "config var"],
    row=lambda r: [r["addon"]["name"], r["addon"]["service"], r["addon"]["plan"],
                   r["addon"]["state"], r["config_var"]],
)


@app_command("addons:create", json=True)
@click.argument("service")
@click.option("--plan", help="mini (default) or standard: see the README's add-ons section.")
@click.option("--as", "alias", metavar="ALIAS", help="Config var name: ALIAS_URL.")
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="Wait until it is available (else see its state with `pier addons`).")
def addons_create(env: Env, service: str, plan: str | None, alias: str | None, wait: bool,
                  app: str | None, as_json: bool) -> None:
    """Provision an add-on (postgresql, redis) and attach it to the app."""
    name = env.app(app)
    body = {"service": service, "plan": plan, "as": alias}
    click.echo(f"Creating {service} for {name}...", nl=False, err=True)
    data = env.client().post(api_path("apps", name, "addons"),
                             {k: v for k, v in body.items() if v})
    if wait:
        data = wait_while(env, data["name"], "provisioning")
    else:
        click.echo(f" {data['name']} is {data['state']}", err=True)
    if as_json:
        env.out.json(data)
        return
    if data["state"] != "available":
        env.out.note(f"See when it is ready with `pier addons:info {data['name']}`.")
        return
    env.out.success(f"Created {data['name']} ({data['plan']}) as {_attached_to(data)}")
    env.out.note("The app restarts with it (see `pier releases`).")


@click.command("addons:info")
@click.argument("addon")
@json_option
@pass_env
def addons_info(env: Env, addon: str, as_json: bool) -> None:
    """Show an add-on: service, plan, state, the apps it is attached to."""
    data = env.client().get(api_path("addons", addon))
    if as_json:
        env.out.json(data)
        return
    env.out.heading(data["name"])
    env.out.pairs([("service", data["service"]), ("plan", data["plan"]),
                   ("provider", data["provider"]), ("state", data["state"]),
                   ("app", data["app"]), ("attached to", _attached_to(data)),
                   ("backups at", data["backup_at"] or "-"),
                   ("last error", data["last_error"] or "-"),
                   ("created", format_time(data["created_at"]))])


@app_command("addons:attach")
@click.argument("addon")
@click.option("--as", "alias", metavar="ALIAS", help="Config var name: ALIAS_URL.")
def addons_attach(env: Env, addon: str, alias: str | None, app: str | None) -> None:
    """Attach an existing add-on to the app (one database, two apps)."""
    name = env.app(app)
    body = {"addon": addon, **({"as": alias} if alias else {})}
    data = env.client().post(api_path("apps", name, "addon-attachments"), body)
    env.out.success(f"Attached {addon} to {name} as {data['config_var']}")


@app_command("addons:detach")
@click.argument("attachment")
def addons_detach(env: Env, attachment: str, app: str | None) -> None:
    """Detach an add-on (by attachment name or add-on name) from the app."""
    name = env.app(app)
    env.client().delete(api_path("apps", name, "addon-attachments", attachment))
    env.out.success(f"Detached {attachment} from {name}")


@app_command("addons:destroy")
@click.argument("addon")
@click.option("--confirm", metavar="APP", help="The app's name: its data is removed.")
def addons_destroy(env: Env, addon: str, confirm: str | None, app: str | None) -> None:
    """Destroy an add-on and its data (a PostgreSQL add-on keeps a final backup)."""
    name = env.app(app)
    query = f"?confirm={quote(confirm)}" if confirm else ""
    env.client().delete(api_path("apps", name, "addons", addon) + query)
    env.out.success(f"Destroyed {addon}")


COMMANDS = [addons_list, addons_create, addons_info, addons_attach, addons_detach,
            addons_destroy]
