"""pier releases, releases:info, rollback."""

import click

from cli.client import api_path
from cli.commands.options import app_option, json_option, pass_env
from cli.context import Env
from cli.output import format_time


def _by(release: dict) -> str:
    return (release.get("creator") or {}).get("email") or ""


def _status(release: dict) -> str:
    return release["status"] + (" (current)" if release.get("current") else "")


@click.command("releases")
@app_option
@json_option
@pass_env
def releases_list(env: Env, app: str | None, as_json: bool) -> None:
    """List an app's releases, newest first."""
    name = env.app(app)
    env.out.listing(
        env.client().get(api_path("apps", name, "releases")),
        as_json=as_json,
        empty=f"{name} has no releases yet: deploy with `git push pier main`.",
        headers=["version", "description", "status", "by", "created"],
        row=lambda r: [f"v{r['version']}", r["description"], _status(r), _by(r),
                       format_time(r["created_at"])],
    )


@click.command("releases:info")
@click.argument("version", metavar="vN")
@app_option
@json_option
@pass_env
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


@click.command("rollback")
@click.argument("version", required=False, metavar="[vN]")
@app_option
@json_option
@pass_env
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
