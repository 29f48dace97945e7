"""pier releases, releases:info, rollback."""

import click

from cli.client import api_path
from cli.commands.listing import app_list_command
from cli.commands.options import app_command
from cli.context import Env
from cli.output import format_time


def _by(release: dict) -> str:
    return (release.get("creator") or {}).get("email") or ""


def _status(release: dict) -> str:
    return release["status"] + (" (current)" if release.get("current") else "")


releases_list = app_list_command(
    "releases",
    help="List an app's releases, newest first.",
    empty="{app} has no releases yet: deploy with `git push pier main`.",
    headers=["version", "description", "status", "by", "created"],
    row=lambda r: [f"v{r['version']}", r["description"], _status(r), _by(r),
                   format_time(r["created_at"])],
)


@app_command("releases:info", json=True)
@click.argument("version", metavar="vN")
def releases_info(env: Env, version: str, app: str | None, as_json: bool) -> None:
    """Show one release (vN or N), with its config vars."""
    name = env.app(app)
    number = version.strip().lower().removeprefix("v")
    data = env.client().get(api_path("apps", name, "releases", f"v{number}"))
    if as_json:
        env.out.json(data)
        return
    build = data.get("build") or {}
    env.out.heading(f"{name} release v{data['version']}")
    env.out.pairs(
        [
            ("Description", data["description"]),
            ("Status", _status(data)),
            ("By", _by(data)),
            ("Created", format_time(data["created_at"])),
            ("Build", f"{build['id']} ({(build.get('source_sha') or '')[:12]})" if build else ""),
        ]
    )
    config = data.get("config_vars") or {}
    if config:
        env.out.line()
        env.out.heading("config vars")
        env.out.pairs(sorted(config.items()))


@app_command("rollback", json=True)
@click.argument("version", required=False, metavar="[vN]")
def rollback(env: Env, version: str | None, app: str | None, as_json: bool) -> None:
    """Roll back to an earlier release.

    Makes a new release with the build and config of vN (default: the previous one).
    """
    name = env.app(app)
    body = {"rollback": "v" + version.strip().lower().removeprefix("v")} if version else {}
    data = env.client().post(api_path("apps", name, "releases"), body)
    if as_json:
        env.out.json(data)
    else:
        env.out.success(f"{data['description']} on {name}: now at v{data['version']}")


COMMANDS = [releases_list, releases_info, rollback]
