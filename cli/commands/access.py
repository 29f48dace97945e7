"""pier access, access:add, access:remove: who may deploy and manage an app."""

import click

from cli.client import api_path
from cli.commands.options import app_option, json_option, pass_env
from cli.context import Env
from cli.output import format_time


@click.command("access")
@app_option
@json_option
@pass_env
def access_list(env: Env, app: str | None, as_json: bool) -> None:
    """List the app's owner and collaborators."""
    name = env.app(app)
    env.out.listing(
        env.client().get(api_path("apps", name, "collaborators")),
        as_json=as_json,
        empty=None,
        headers=["email", "role", "since"],
        row=lambda c: [c["email"], c["role"], format_time(c["created_at"])],
    )


@click.command("access:add")
@click.argument("email")
@app_option
@pass_env
def access_add(env: Env, email: str, app: str | None) -> None:
    """Let another Pier user deploy and manage the app."""
    name = env.app(app)
    data = env.client().post(api_path("apps", name, "collaborators"), {"email": email})
    env.out.success(f"Added {data['email']} as a collaborator on {name}")


@click.command("access:remove")
@click.argument("email")
@app_option
@pass_env
def access_remove(env: Env, email: str, app: str | None) -> None:
    """Take a collaborator's access away."""
    name = env.app(app)
    env.client().delete(api_path("apps", name, "collaborators", email))
    env.out.success(f"Removed {email} from {name}")


COMMANDS = [access_list, access_add, access_remove]
