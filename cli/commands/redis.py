"""pier redis:cli, redis:credentials:rotate."""

from urllib.parse import quote

import click

from cli.client import api_path
from cli.commands.addons import addon_shell_command
from cli.commands.options import app_command
from cli.context import Env

redis_cli = addon_shell_command(
    "redis:cli", topic="redis",
    help="Open redis-cli on the app's Redis (DATABASE: an add-on or attachment name).")


@app_command("redis:credentials:rotate")
@click.argument("database", required=False)
def redis_rotate(env: Env, database: str | None, app: str | None) -> None:
    """Set a new password; attached apps restart with the new REDIS_URL."""
    query = f"?addon={quote(database)}" if database else ""
    data = env.client().post(api_path("apps", env.app(app), "redis", "credentials") + query)
    env.out.success(f"Rotated the credentials of {data['name']}")


COMMANDS = [redis_cli, redis_rotate]
