"""pier apps, apps:create, apps:info, apps:destroy, apps:rename, git:remote, maintenance."""

from pathlib import Path

import click

from cli import gitremote
from cli.client import api_path
from cli.commands.listing import list_command
from cli.commands.options import app_command, json_option, pass_env
from cli.commands.ps import sleep_summary
from cli.context import Env
from cli.errors import CliError
from cli.output import format_time, format_version

apps_list = list_command(
    "apps",
    help="List the apps you own or collaborate on.",
    empty="You have no apps yet: create one with `pier apps:create`.",
    headers=["name", "owner", "release", "url"],
    row=lambda a: [a["name"], a["owner"]["email"], format_version(a["current_release"]),
                   a["web_url"]],
)


def _show(env: Env, app: dict, *, as_json: bool, done: str) -> None:
    """Print an app just made or renamed: its JSON, or what was done and its URLs."""
    if as_json:
        env.out.json(app)
    else:
        env.out.success(done)
        env.out.pairs([("URL", app["web_url"]), ("Git", app["git_url"])])


@click.command("apps:create")
@click.argument("name", required=False)
@json_option
@pass_env
def apps_create(env: Env, name: str | None, as_json: bool) -> None:
    """Create an app, and a `pier` git remote for it.

    The server picks a name when NAME is omitted. The remote is added only inside a git
    repository that has no `pier` remote yet.
    """
    app = env.client().post("apps", {"name": name} if name else {})
    _show(env, app, as_json=as_json, done=f"Created {app['name']}")
    cwd = Path.cwd()
    if not gitremote.is_git_repo(cwd):
        return
    existing = gitremote.remote_url(cwd)
    if existing is None:
        gitremote.remote_set(cwd, app["git_url"])
        env.out.note(f"Added git remote pier → {app['git_url']}")
    elif existing != app["git_url"]:
        env.out.note(
            f"Left git remote pier pointing at {existing}; "
            f"`pier git:remote -a {app['name']}` repoints it"
        )


@app_command("apps:info", json=True)
def apps_info(env: Env, app: str | None, as_json: bool) -> None:
    """Show an app's details."""
    data = env.client().get(api_path("apps", env.app(app)))
    if as_json:
        env.out.json(data)
        return
    env.out.heading(data["name"])
    env.out.pairs(
        [
            ("Owner", data["owner"]["email"]),
            ("Web URL", data["web_url"]),
            ("Git URL", data["git_url"]),
            ("Deploy branch", data["deploy_branch"]),
            ("Release", format_version(data["current_release"]) or "none yet"),
            ("Maintenance", "on" if data["maintenance"] else "off"),
            ("Sleep", sleep_summary(data["sleep"])),
            ("Created", format_time(data["created_at"])),
            ("Updated", format_time(data["updated_at"])),
        ]
    )


@app_command("apps:destroy")
@click.option("--confirm", metavar="NAME", help="The app's name, to confirm.")
def apps_destroy(env: Env, app: str | None, confirm: str | None) -> None:
    """Destroy an app, its releases, config and domains. Cannot be undone."""
    name = env.app(app)
    if confirm != name:
        raise CliError(
            f"destroying {name} cannot be undone: confirm with --confirm {name}"
            if confirm is None
            else f"--confirm {confirm} does not match the app {name}: nothing destroyed",
            hint=f"pier apps:destroy -a {name} --confirm {name}",
        )
    env.client().delete(api_path("apps", name))
    env.out.success(f"Destroyed {name}")
    cwd = Path.cwd()
    url = gitremote.remote_url(cwd)
    if url and gitremote.app_from_url(url) == name and gitremote.remote_remove(cwd):
        env.out.note("Removed git remote pier")


@app_command("apps:rename", json=True)
@click.argument("new_name", metavar="NEWNAME")
def apps_rename(env: Env, new_name: str, app: str | None, as_json: bool) -> None:
    """Rename an app; its URL and git URL change with it."""
    old = env.app(app)
    data = env.client().patch(api_path("apps", old), {"name": new_name})
    _show(env, data, as_json=as_json, done=f"Renamed {old} to {data['name']}")
    cwd = Path.cwd()
    url = gitremote.remote_url(cwd)
    if url and gitremote.app_from_url(url) == old:
        gitremote.remote_set(cwd, data["git_url"])
        env.out.note(f"Updated git remote pier → {data['git_url']}")


@app_command("git:remote")
def git_remote(env: Env, app: str | None) -> None:
    """Point this repository's `pier` git remote at an app."""
    name = env.app(app)
    cwd = Path.cwd()
    if not gitremote.is_git_repo(cwd):
        raise CliError(f"{cwd} is not in a git repository", hint="run `git init` first")
    data = env.client().get(api_path("apps", name))
    action = gitremote.remote_set(cwd, data["git_url"])
    env.out.success(f"{action.capitalize()} git remote pier → {data['git_url']}")


@app_command("maintenance", json=True)
def maintenance(env: Env, app: str | None, as_json: bool) -> None:
    """Show whether maintenance mode is on."""
    data = env.client().get(api_path("apps", env.app(app)))
    if as_json:
        env.out.json({"maintenance": data["maintenance"]})
    else:
        env.out.line("on" if data["maintenance"] else "off")


def _maintenance_set(env: Env, app: str | None, on: bool) -> None:
    name = env.app(app)
    env.client().patch(api_path("apps", name), {"maintenance": on})
    env.out.success(f"Maintenance mode {'on' if on else 'off'} for {name}")


@app_command("maintenance:on")
def maintenance_on(env: Env, app: str | None) -> None:
    """Serve a maintenance page instead of the app."""
    _maintenance_set(env, app, True)


@app_command("maintenance:off")
def maintenance_off(env: Env, app: str | None) -> None:
    """Serve the app again."""
    _maintenance_set(env, app, False)


COMMANDS = [
    apps_list,
    apps_create,
    apps_info,
    apps_destroy,
    apps_rename,
    git_remote,
    maintenance,
    maintenance_on,
    maintenance_off,
]
