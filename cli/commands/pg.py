"""pier pg:info, pg:psql, pg:credentials:rotate, pg:backups (capture, restore, download,
schedule)."""

import time
from urllib.parse import quote

import click

from cli.client import api_path
from cli.commands.addons import addon_shell_command, wait_while
from cli.commands.options import app_command
from cli.context import Env
from cli.errors import CliError
from cli.output import format_time

addon_option = click.option("--addon",
                            help="Which PostgreSQL add-on (default: the app's only one).")
POLL_SECONDS = 0.5


def _path(env: Env, app: str | None, *parts: str, addon: str | None = None) -> str:
    query = f"?addon={quote(addon)}" if addon else ""
    return api_path("apps", env.app(app), "pg", *parts) + query


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


@app_command("pg:info", json=True)
@addon_option
def pg_info(env: Env, app: str | None, addon: str | None, as_json: bool) -> None:
    """Show the app's database: version, size, connections, tables."""
    data = env.client().get(_path(env, app, addon=addon))
    if as_json:
        env.out.json(data)
        return
    env.out.heading(data["name"])
    env.out.pairs([("plan", data["plan"]), ("state", data["state"]),
                   ("version", data["version"]), ("size", _size(data["size"])),
                   ("connections", data["connections"]), ("tables", data["tables"])])


pg_psql = addon_shell_command(
    "pg:psql", topic="pg",
    help="Open psql on the app's database (DATABASE: an add-on or attachment name).")


@app_command("pg:credentials:rotate")
@addon_option
def pg_rotate(env: Env, app: str | None, addon: str | None) -> None:
    """Set a new password; attached apps restart with the new URL."""
    data = env.client().post(_path(env, app, "credentials", addon=addon))
    env.out.success(f"Rotated the credentials of {data['name']}")


@app_command("pg:backups", json=True)
@addon_option
def pg_backups(env: Env, app: str | None, addon: str | None, as_json: bool) -> None:
    """List the database's backups."""
    data = env.client().get(_path(env, app, "backups", addon=addon))
    if as_json:
        env.out.json(data)
        return
    if data["schedule"]:
        env.out.note(f"Daily backups at {data['schedule']} UTC")
    if not data["backups"]:
        env.out.note("No backups yet: take one with `pier pg:backups:capture`.")
        return
    env.out.table(["id", "taken", "size", "status"], [
        [b["id"], format_time(b["created_at"]), _size(b["size"]),
         b["status"] + (f": {b['error']}" if b["error"] else "")] for b in data["backups"]])


@app_command("pg:backups:capture")
@addon_option
def pg_capture(env: Env, app: str | None, addon: str | None) -> None:
    """Back up the database now, showing progress until it is done."""
    client = env.client()
    backup = client.post(_path(env, app, "backups", addon=addon))
    env.out.note(f"Capturing {backup['id']} of {backup['addon']}...")
    while backup["status"] == "running":
        time.sleep(POLL_SECONDS)
        backup = client.get(_path(env, app, "backups", backup["id"], addon=addon))
    if backup["status"] != "succeeded":
        raise CliError(f"backup {backup['id']} failed: {backup['error']}")
    env.out.success(f"Backup {backup['id']} done ({_size(backup['size'])})")


@app_command("pg:backups:restore")
@click.argument("backup")
@click.option("--confirm", metavar="APP", help="The app's name: the database is overwritten.")
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="Wait until it is restored (else see `pier addons:info`).")
@addon_option
def pg_restore(env: Env, backup: str, confirm: str | None, wait: bool, app: str | None,
               addon: str | None) -> None:
    """Replace the database's data with a backup's."""
    data = env.client().post(_path(env, app, "backups", backup, "restore", addon=addon),
                             {"confirm": confirm or ""})
    click.echo(f"Restoring {data['id']} into {data['addon']}...", nl=False, err=True)
    if not wait:
        click.echo(" started", err=True)
        return
    wait_while(env, data["addon"], "restoring")
    env.out.success(f"Restored {data['id']}")


@app_command("pg:backups:download")
@click.argument("backup")
@click.option("-o", "--output", default=None, help="File to write (default: <backup>.dump).")
@addon_option
def pg_download(env: Env, backup: str, output: str | None, app: str | None,
                addon: str | None) -> None:
    """Download a backup (pg_dump's custom format: `pg_restore` reads it)."""
    target = output or f"{backup}.dump"
    path = _path(env, app, "backups", backup, "download", addon=addon)
    client = env.client()
    with client.stream("GET", path) as response, open(target, "wb") as f, \
            client.transport_errors():
        for chunk in response.iter_bytes():
            f.write(chunk)
    env.out.success(f"Wrote {target}")


@app_command("pg:backups:schedule")
@click.option("--at", "at", required=True, help="HH:MM (UTC); an empty string stops it.")
@addon_option
def pg_schedule(env: Env, at: str, app: str | None, addon: str | None) -> None:
    """Back up the database daily (the newest PIER_ADDONS_BACKUP_RETAIN are kept)."""
    data = env.client().request("PUT", _path(env, app, "backups", "schedule", addon=addon),
                                {"at": at})
    if data["schedule"]:
        env.out.success(f"Daily backups at {data['schedule']} UTC")
    else:
        env.out.success("Scheduled backups stopped")


COMMANDS = [pg_info, pg_psql, pg_rotate, pg_backups, pg_capture, pg_restore, pg_download,
            pg_schedule]
