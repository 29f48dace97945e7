"""List commands declared as data.

Every `pier X` that lists things GETs one path and prints the rows as JSON, a note when
there are none, or a table; only the path, the columns and the words differ.
"""

from collections.abc import Callable, Sequence
from typing import Any

import click

from cli.client import api_path
from cli.commands.options import app_command, json_option, pass_env
from cli.context import Env

Row = Callable[[dict], Sequence[Any]]


def list_command(name: str, *, help: str, empty: str | None, headers: Sequence[str],
                 row: Row) -> click.Command:
    """Declare `pier NAME [--json]`, listing what GET ``NAME`` returns."""

    def command(env: Env, as_json: bool) -> None:
        env.out.listing(env.client().get(api_path(name)), as_json=as_json, empty=empty,
                        headers=headers, row=row)

    command.__doc__ = help
    return click.command(name)(json_option(pass_env(command)))


def app_list_command(name: str, *, help: str, empty: str | None, headers: Sequence[str],
                     row: Row, path: str | None = None) -> click.Command:
    """Declare `pier NAME [-a APP] [--json]`, listing what GET ``apps/APP/<path>`` returns.

    ``path`` is NAME unless given; ``{app}`` in ``empty`` stands for the app's name.
    """

    def command(env: Env, app: str | None, as_json: bool) -> None:
        owner = env.app(app)
        env.out.listing(env.client().get(api_path("apps", owner, path or name)), as_json=as_json,
                        empty=empty and empty.format(app=owner), headers=headers, row=row)

    command.__doc__ = help
    return app_command(name, json=True)(command)
