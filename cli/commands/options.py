"""Options shared by many commands."""

import click

from cli.context import Env

pass_env = click.make_pass_decorator(Env, ensure=True)

app_option = click.option(
    "-a",
    "--app",
    "app",
    metavar="APP",
    help="App to act on (default: from the `pier` git remote of this directory).",
)

json_option = click.option("--json", "as_json", is_flag=True, help="Print the raw JSON.")
