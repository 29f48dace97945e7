"""pier certs, certs:add, certs:remove, certs:auto:enable, certs:auto:disable,
certs:redirect:enable, certs:redirect:disable."""

from pathlib import Path

import click

from cli.client import api_path
from cli.commands.options import app_option, json_option, pass_env
from cli.context import Env
from cli.errors import CliError
from cli.output import format_time


@click.command("certs")
@app_option
@json_option
@pass_env
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


@click.command("certs:add")
@click.argument("certificate", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("key", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@app_option
@json_option
@pass_env
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


@click.command("certs:remove")
@app_option
@pass_env
def certs_remove(env: Env, app: str | None) -> None:
    """Stop serving the app's certificate (HTTPS falls back to the router's default)."""
    name = env.app(app)
    env.client().delete(api_path("apps", name, "certs"))
    env.out.success(f"Removed the certificate of {name}")


@click.command("certs:auto:enable")
@app_option
@pass_env
def certs_auto_enable(env: Env, app: str | None) -> None:
    """Get certificates from the ACME CA for all of the app's domains, renewed automatically."""
    name = env.app(app)
    env.client().post(api_path("apps", name, "certs", "auto"), {})
    env.out.success(f"Automated Certificate Management enabled for {name}")
    env.out.note("Certificates are ordered in the background: watch `pier certs`.")


@click.command("certs:auto:disable")
@app_option
@pass_env
def certs_auto_disable(env: Env, app: str | None) -> None:
    """Stop Automated Certificate Management and its certificate."""
    name = env.app(app)
    env.client().delete(api_path("apps", name, "certs", "auto"))
    env.out.success(f"Automated Certificate Management disabled for {name}")


@click.command("certs:redirect:enable")
@app_option
@pass_env
def certs_redirect_enable(env: Env, app: str | None) -> None:
    """Redirect plain HTTP to HTTPS (301) for the domains the certificate serves (default)."""
    name = env.app(app)
    env.client().post(api_path("apps", name, "certs", "redirect"), {})
    env.out.success(f"HTTP to HTTPS redirects enabled for {name}")


@click.command("certs:redirect:disable")
@app_option
@pass_env
def certs_redirect_disable(env: Env, app: str | None) -> None:
    """Serve plain HTTP as well as HTTPS, without redirecting."""
    name = env.app(app)
    env.client().delete(api_path("apps", name, "certs", "redirect"))
    env.out.success(f"HTTP to HTTPS redirects disabled for {name}")


COMMANDS = [certs_list, certs_add, certs_remove, certs_auto_enable, certs_auto_disable,
            certs_redirect_enable, certs_redirect_disable]
