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


def app_command(name: str, *, json: bool = False):
    """Declare a command that acts on one app: ``-a APP``, ``--json`` when asked, and the Env.

    The command's function takes ``env`` first, then its own arguments, then ``app`` (and
    ``as_json``); ``--help`` lists its own options before ``-a`` and ``--json``.
    """

    def declare(function):
        function = pass_env(function)
        own = function.__dict__.pop("__click_params__", [])
        if json:
            function = json_option(function)
        function = app_option(function)
        function.__click_params__.extend(own)
        return click.command(name)(function)

    return declare
