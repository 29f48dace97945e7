"""pier addons, addons:create, addons:info, addons:attach, addons:detach, addons:destroy."""

from urllib.parse import quote

import click

from cli.client import api_path
from cli.commands.options import app_option, json_option, pass_env
from cli.context import Env
from cli.output import format_time


def _attached_to(addon: dict) -> str:
    return ", ".join(f"{a['app']} ({a['config_var']})" for a in addon["attachments"])


@click.command("addons")
@app_option
@json_option
@pass_env
def addons_list(env: Env, app: str | None, as_json: bool) -> None:
    """List the add-ons attached to an app."""
    name = env.app(app)
    rows = env.client().get(api_path("apps", name, "addons"))
    if as_json:
        env.out.json(rows)
        return
    if not rows:
        env.out.note(f"{name} has no add-ons: create one with `pier addons:create postgresql`.")
        return
    env.out.table(
        ["name", "service", "plan", "state", "config var"],
        [[r["addon"]["name"], r["addon"]["service"], r["addon"]["plan"], r["addon"]["state"],
          r["config_var"]] for r in rows],
    )


@click.command("addons:create")
@click.argument("service")
@click.option("--plan", help="mini (default) or standard: see the README's add-ons section.")
@click.option("--as", "alias", metavar="ALIAS", help="Config var name: ALIAS_URL.")
@app_option
@json_option
@pass_env
def addons_create(env: Env, service: str, plan: str | None, alias: str | None,
                  app: str | None, as_json: bool) -> None:
    """Provision an add-on (postgresql, redis) and attach it to the app."""
    name = env.app(app)
    body = {"service": service, "plan": plan, "as": alias}
    env.out.note(f"Creating {service} for {name}...")
    data = env.client().post(api_path("apps", name, "addons"),
                             {k: v for k, v in body.items() if v})
    if as_json:
        env.out.json(data)
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
                   ("created", format_time(data["created_at"]))])


@click.command("addons:attach")
@click.argument("addon")
@click.option("--as", "alias", metavar="ALIAS", help="Config var name: ALIAS_URL.")
@app_option
@pass_env
def addons_attach(env: Env, addon: str, alias: str | None, app: str | None) -> None:
    """Attach an existing add-on to the app (one database, two apps)."""
    name = env.app(app)
    body = {"addon": addon, **({"as": alias} if alias else {})}
    data = env.client().post(api_path("apps", name, "addon-attachments"), body)
    env.out.success(f"Attached {addon} to {name} as {data['config_var']}")


@click.command("addons:detach")
@click.argument("attachment")
@app_option
@pass_env
def addons_detach(env: Env, attachment: str, app: str | None) -> None:
    """Detach an add-on (by attachment name or add-on name) from the app."""
    name = env.app(app)
    env.client().delete(api_path("apps", name, "addon-attachments", attachment))
    env.out.success(f"Detached {attachment} from {name}")


@click.command("addons:destroy")
@click.argument("addon")
@click.option("--confirm", metavar="APP", help="The app's name: its data is removed.")
@app_option
@pass_env
def addons_destroy(env: Env, addon: str, confirm: str | None, app: str | None) -> None:
    """Destroy an add-on and its data (a PostgreSQL add-on keeps a final backup)."""
    name = env.app(app)
    query = f"?confirm={quote(confirm)}" if confirm else ""
    env.client().delete(api_path("apps", name, "addons", addon) + query)
    env.out.success(f"Destroyed {addon}")


COMMANDS = [addons_list, addons_create, addons_info, addons_attach, addons_detach,
            addons_destroy]
