"""pier access, access:add, access:remove: who may deploy and manage an app."""

import click

from cli.client import api_path
from cli.commands.listing import app_list_command
from cli.commands.options import app_command
from cli.context import Env
from cli.output import format_time

access_list = app_list_command(
    "access",
    path="collaborators",
    help="List the app's owner and collaborators.",
    empty=None,
    headers=["email", "role", "since"],
    row=lambda c: [c["email"], c["role"], format_time(c["created_at"])],
)


@app_command("access:add")
@click.argument("email")
def access_add(env: Env, email: str, app: str | None) -> None:
    """Let another Pier user deploy and manage the app."""
    name = env.app(app)
    data = env.client().post(api_path("apps", name, "collaborators"), {"email": email})
    env.out.success(f"Added {data['email']} as a collaborator on {name}")


@app_command("access:remove")
@click.argument("email")
def access_remove(env: Env, email: str, app: str | None) -> None:
    """Take a collaborator's access away."""
    name = env.app(app)
    env.client().delete(api_path("apps", name, "collaborators", email))
    env.out.success(f"Removed {email} from {name}")


COMMANDS = [access_list, access_add, access_remove]
