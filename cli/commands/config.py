"""pier config, config:set, config:unset, config:get."""

import shlex

import click

from cli.client import api_path
from cli.commands.options import app_command
from cli.context import Env
from cli.errors import CliError


def parse_assignment(arg: str) -> tuple[str, str]:
    """Split `KEY=value` at the first `=`; the value may itself contain `=`."""
    key, sep, value = arg.partition("=")
    if not sep or not key:
        raise click.BadParameter(f"{arg!r} is not KEY=value", param_hint="KEY=VALUE")
    return key, value


def _release_note(env: Env, app: str) -> str:
    data = env.client().get(api_path("apps", app))
    release = data.get("current_release")
    return f" (release v{release['version']})" if release else ""


@app_command("config", json=True)
@click.option("--shell", is_flag=True, help="Print KEY=value lines, quoted for a shell.")
def config_list(env: Env, app: str | None, shell: bool, as_json: bool) -> None:
    """Show an app's config vars."""
    name = env.app(app)
    values = env.client().get(api_path("apps", name, "config-vars"))
    if as_json:
        env.out.json(values)
    elif shell:
        for key in sorted(values):
            env.out.line(f"{key}={shlex.quote(values[key])}")
    elif not values:
        env.out.note(f"{name} has no config vars: set some with `pier config:set KEY=value`.")
    else:
        env.out.heading(f"{name} config vars")
        env.out.pairs(sorted(values.items()))


@app_command("config:set")
@click.argument("assignments", nargs=-1, required=True, metavar="KEY=VALUE...")
def config_set(env: Env, assignments: tuple[str, ...], app: str | None) -> None:
    """Set config vars; each change makes a new release."""
    changes = dict(parse_assignment(arg) for arg in assignments)
    name = env.app(app)
    env.client().patch(api_path("apps", name, "config-vars"), changes)
    env.out.success(f"Set {', '.join(changes)} on {name}{_release_note(env, name)}")


@app_command("config:unset")
@click.argument("keys", nargs=-1, required=True, metavar="KEY...")
def config_unset(env: Env, keys: tuple[str, ...], app: str | None) -> None:
    """Remove config vars; each change makes a new release."""
    name = env.app(app)
    env.client().patch(api_path("apps", name, "config-vars"), dict.fromkeys(keys))
    env.out.success(f"Unset {', '.join(keys)} on {name}{_release_note(env, name)}")


@app_command("config:get")
@click.argument("key")
def config_get(env: Env, key: str, app: str | None) -> None:
    """Print one config var's exact value.

    Exits with status 1 when the var is not set.
    """
    name = env.app(app)
    values = env.client().get(api_path("apps", name, "config-vars"))
    if key not in values:
        raise CliError(f"config var {key} is not set on {name}", hint="see `pier config`")
    env.out.line(values[key])


COMMANDS = [config_list, config_set, config_unset, config_get]
