"""pier webhooks, webhooks:add, webhooks:remove, webhooks:deliveries: an app's event hooks."""

import click

from cli.client import api_path
from cli.commands.listing import app_list_command
from cli.commands.options import app_command
from cli.context import Env
from cli.output import format_time

webhooks_list = app_list_command(
    "webhooks",
    help="List the webhooks of an app.",
    empty="{app} has no webhooks: add one with `pier webhooks:add`.",
    headers=["id", "url", "include"],
    row=lambda w: [w["id"], w["url"], ",".join(w["include"])],
)


@app_command("webhooks:add", json=True)
@click.option("--url", "-u", required=True, help="Where to POST the events (https://...).")
@click.option("--include", "-i", required=True,
              help="Events to send, comma-separated: api:build,api:release,api:domain,dyno.")
@click.option("--secret", "-s", help="HMAC secret for Pier-Signature (default: generated).")
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


@app_command("webhooks:remove")
@click.argument("webhook_id", metavar="ID")
def webhooks_remove(env: Env, webhook_id: str, app: str | None) -> None:
    """Stop sending the app's events to webhook ID."""
    name = env.app(app)
    env.client().delete(api_path("apps", name, "webhooks", webhook_id))
    env.out.success(f"Removed webhook {webhook_id} from {name}")


webhooks_deliveries = app_list_command(
    "webhooks:deliveries",
    path="webhook-deliveries",
    help="List the app's latest webhook deliveries: status, attempts, next retry.",
    empty="No webhook deliveries for {app} yet.",
    headers=["id", "event", "status", "attempts", "next retry", "last error", "created"],
    row=lambda d: [d["id"][:8], f"{d['event']} {d['action']}", d["status"], d["attempts"],
                   format_time(d["next_attempt_at"]) if d["status"] == "retrying" else "",
                   d["last_error"], format_time(d["created_at"])],
)


COMMANDS = [webhooks_list, webhooks_add, webhooks_remove, webhooks_deliveries]
