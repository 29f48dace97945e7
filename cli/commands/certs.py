"""pier certs, certs:add, certs:remove, certs:auto:enable, certs:auto:disable,
certs:redirect:enable, certs:redirect:disable."""

from pathlib import Path

import click

from cli.client import api_path
from cli.commands.options import app_command
from cli.context import Env
from cli.errors import CliError
from cli.output import format_time


@app_command("certs", json=True)
def certs_list(env: Env, app: str | None, as_json: bool) -> None:
    """Show each domain's HTTPS certificate: issuer, expiry, status."""
    name = env.app(app)
    data = env.client().get(api_path("apps", name, "certs"))
    if as_json:
        env.out.json(data)
        return
    if data["source"] is None:
        env.out.note(f"{name} has no certificate: `pier certs:auto:enable` or `pier certs:add`.")
        return
    env.out.table(
        ["domain", "issuer", "expires", "status"],
        [[d["hostname"], data["issuer"] or "-", format_time(data["not_after"]), d["status"]]
         for d in data["domains"]],
    )
    source = "Automated Certificate Management" if data["acm"] else "your own certificate"
    redirect = "redirected to HTTPS" if data["https_redirect"] else "not redirected"
    env.out.note(f"{name} uses {source}; plain HTTP to its issued domains is {redirect}.")
    if data["last_error"]:
        env.out.note(f"Last error: {data['last_error']}")


@app_command("certs:add", json=True)
@click.argument("certificate", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("key", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def certs_add(env: Env, certificate: Path, key: Path, app: str | None, as_json: bool) -> None:
    """Serve your own certificate (PEM chain, then its key) for the app's domains."""
    name = env.app(app)
    try:
        body = {"certificate": certificate.read_text(), "key": key.read_text()}
    except (OSError, UnicodeDecodeError) as e:
        raise CliError(f"cannot read the certificate or key: {e}") from e
    data = env.client().post(api_path("apps", name, "certs"), body)
    if as_json:
        env.out.json(data)
        return
    env.out.success(f"Certificate added to {name}, valid until {format_time(data['not_after'])}")


@app_command("certs:remove")
def certs_remove(env: Env, app: str | None) -> None:
    """Stop serving the app's certificate (HTTPS falls back to the router's default)."""
    name = env.app(app)
    env.client().delete(api_path("apps", name, "certs"))
    env.out.success(f"Removed the certificate of {name}")


def _switch(env: Env, app: str | None, setting: str, *, on: bool) -> str:
    """Turn an HTTPS setting of the app on (POST) or off (DELETE); return the app's name."""
    name = env.app(app)
    path = api_path("apps", name, "certs", setting)
    if on:
        env.client().post(path, {})
    else:
        env.client().delete(path)
    return name


@app_command("certs:auto:enable")
def certs_auto_enable(env: Env, app: str | None) -> None:
    """Get certificates from the ACME CA for all of the app's domains, renewed automatically."""
    name = _switch(env, app, "auto", on=True)
    env.out.success(f"Automated Certificate Management enabled for {name}")
    env.out.note("Certificates are ordered in the background: watch `pier certs`.")


@app_command("certs:auto:disable")
def certs_auto_disable(env: Env, app: str | None) -> None:
    """Stop Automated Certificate Management and its certificate."""
    name = _switch(env, app, "auto", on=False)
    env.out.success(f"Automated Certificate Management disabled for {name}")


@app_command("certs:redirect:enable")
def certs_redirect_enable(env: Env, app: str | None) -> None:
    """Redirect plain HTTP to HTTPS (301) for the domains the certificate serves (default)."""
    name = _switch(env, app, "redirect", on=True)
    env.out.success(f"HTTP to HTTPS redirects enabled for {name}")


@app_command("certs:redirect:disable")
def certs_redirect_disable(env: Env, app: str | None) -> None:
    """Serve plain HTTP as well as HTTPS, without redirecting."""
    name = _switch(env, app, "redirect", on=False)
    env.out.success(f"HTTP to HTTPS redirects disabled for {name}")


COMMANDS = [certs_list, certs_add, certs_remove, certs_auto_enable, certs_auto_disable,
            certs_redirect_enable, certs_redirect_disable]
