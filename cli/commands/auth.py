"""pier login, whoami, logout."""

import os

import click

from cli.client import api_path
from cli.commands.options import json_option, pass_env
from cli.context import Env
from cli.credentials import (
    DEFAULT_API_URL,
    ENV_API_KEY,
    ENV_API_URL,
    credentials_delete,
    credentials_save,
    normalize_api_url,
)
from cli.errors import CannotConnect, CliError

LOGIN_TOKEN_NAME = "pier login"


@click.command("login")
@click.option("--email", help="Email to log in with (prompted when omitted).")
@click.option("--token", help="Use an existing API token instead of email and password.")
@click.option(
    "--api-url",
    metavar="URL",
    help="Root URL of the Pier server [default: $PIER_API_URL or http://127.0.0.1:5000].",
)
@pass_env
def login(env: Env, email: str | None, token: str | None, api_url: str | None) -> None:
    """Log in and save an API token.

    The token is saved to ~/.config/pier/credentials (honouring $XDG_CONFIG_HOME), readable
    only by you. $PIER_API_KEY and $PIER_API_URL override what is saved.
    """
    url = normalize_api_url(api_url) if api_url else _default_api_url(env)
    if token:
        account = env.client(api_url=url, token=token).get("account")
        email = account["email"]
    else:
        email = email or click.prompt("Email")
        password = click.prompt("Password", hide_input=True)
        answer = env.client(api_url=url, token="").post(
            "login", {"email": email, "password": password, "name": LOGIN_TOKEN_NAME}
        )
        token, email = answer["token"], answer["email"]
    path = credentials_save(api_url=url, token=token, email=email)
    env.out.success(f"Logged in as {email} at {url}")
    env.out.note(f"credentials saved to {path}")
    if os.environ.get(ENV_API_KEY):
        env.out.note(f"note: {ENV_API_KEY} is set and overrides the saved token")
    if os.environ.get(ENV_API_URL) and os.environ[ENV_API_URL].rstrip("/") != url:
        env.out.note(f"note: {ENV_API_URL} is set and overrides the saved URL")


def _default_api_url(env: Env) -> str:
    try:
        return env.credentials.api_url
    except CliError:  # an unreadable credentials file must not stop a fresh login
        return normalize_api_url(os.environ.get(ENV_API_URL) or DEFAULT_API_URL)


@click.command("whoami")
@json_option
@pass_env
def whoami(env: Env, as_json: bool) -> None:
    """Show the email of the logged-in user."""
    account = env.client().get("account")
    if as_json:
        env.out.json(account)
    else:
        env.out.line(account["email"])


@click.command("logout")
@pass_env
def logout(env: Env) -> None:
    """Forget the saved token.

    A token that `pier login` created is also revoked on the server.
    """
    creds = env.credentials
    if creds.token and creds.token_source != ENV_API_KEY:
        _revoke_login_token(env)
    path = credentials_delete()
    if path is None:
        env.out.line("Not logged in.")
    else:
        env.out.success(f"Logged out: removed {path}")
    if os.environ.get(ENV_API_KEY):
        env.out.note(f"note: {ENV_API_KEY} is still set in your environment")


def _revoke_login_token(env: Env) -> None:
    """Revoke the saved token if it is one `pier login` minted; a token given with
    `--token` may be the user's only one, so it is left alone. Best effort."""
    client = env.client()
    try:
        tokens = client.get("account/tokens") or []
        prefix = client.token[:12]
        for row in tokens:
            if row.get("prefix") == prefix and row.get("name") == LOGIN_TOKEN_NAME:
                client.delete(api_path("account", "tokens", row["id"]))
    except CannotConnect as e:
        env.out.note(f"warning: could not revoke the token on the server: {e.message}")
    except CliError:
        pass  # already revoked, or the server is older: forgetting it locally is enough


COMMANDS = [login, whoami, logout]
