"""pier webhooks, webhooks:add, webhooks:remove, webhooks:deliveries: an app's event hooks."""

import click

from cli.client import api_path
from cli.commands.options import app_option, json_option, pass_env
from cli.context import Env
from cli.output import format_time


@click.command("webhooks")
@app_option
@json_option
@pass_env
def webhooks_list(env: Env, app: str | None, as_json: bool) -> None:
    """List the webhooks of an app."""
    name = env.app(app)
    rows = env.client().get(api_path("apps", name, "webhooks"))
    if as_json:
        env.out.json(rows)
        return
    if not rows:
        env.out.note(f"{name} has no webhooks: add one with `pier webhooks:add`.")
        return
    env.out.table(["id", "url", "include"],
                  [[w["id"], w["url"], ",".join(w["include"])] for w in rows])


@click.command("webhooks:add")
@click.option("--url", "-u", required=True, help="Where to POST the events (https://...).")
@click.option("--include", "-i", required=True,
              help="Events to send, comma-separated: api:build,api:release,api:domain,dyno.")
@click.option("--secret", "-s", help="HMAC secret for Pier-Signature (default: generated).")
@app_option
@json_option
@pass_env
def webhooks_add(env: Env, url: str, include: str, secret: str | None, app: str | None,
                 as_json: bool) -> None:
    """POST the app's events to URL, signed (Pier-Signature: sha256=HMAC of the body)."""
    name = env.app(app)
    body = {"url": url, "include": include}
    if secret:
        body["secret"] = secret
    data = env.client().post(api_path("apps", name, "webhooks"), body)
    if as_json:
        env.out.json(data)
        return
    env.out.success(f"Added webhook {data['id']} to {name}")
    if not secret:
        env.out.line(f"Secret (shown once): {data['secret']}")


@click.command("webhooks:remove")
@click.argument("webhook_id", metavar="ID")
@app_option
@pass_env
def webhooks_remove(env: Env, webhook_id: str, app: str | None) -> None:
    """Stop sending the app's events to webhook ID."""
    name = env.app(app)
    env.client().delete(api_path("apps", name, "webhooks", webhook_id))
    env.out.success(f"Removed webhook {webhook_id} from {name}")


@click.command("webhooks:deliveries")
@app_option
@json_option
@pass_env
def webhooks_deliveries(env: Env, app: str | None, as_json: bool) -> None:
    """List the app's latest webhook deliveries: status, attempts, next retry."""
    name = env.app(app)
    rows = env.client().get(api_path("apps", name, "webhook-deliveries"))
    if as_json:
        env.out.json(rows)
        return
    if not rows:
        env.out.note(f"No webhook deliveries for {name} yet.")
        return
    env.out.table(
        ["id", "event", "status", "attempts", "next retry", "last error", "created"],
        [[d["id"][:8], f"{d['event']} {d['action']}", d["status"], d["attempts"],
          format_time(d["next_attempt_at"]) if d["status"] == "retrying" else "",
          d["last_error"], format_time(d["created_at"])] for d in rows])


COMMANDS = [webhooks_list, webhooks_add, webhooks_remove, webhooks_deliveries]
