"""pier builds, builds:info, builds:output."""

import click

from cli.client import Client, api_path
from cli.commands.listing import app_list_command
from cli.commands.options import app_command
from cli.context import Env
from cli.errors import CliError
from cli.output import format_time, log_text

builds_list = app_list_command(
    "builds",
    help="List an app's builds, newest first.",
    empty="{app} has no builds yet: deploy with `git push pier main`.",
    headers=["id", "status", "commit", "buildpack", "created", "finished"],
    row=lambda b: [b["id"], b["status"], (b.get("source_sha") or "")[:12],
                   b.get("buildpack") or "", format_time(b["created_at"]),
                   format_time(b.get("finished_at"))],
)


@app_command("builds:info", json=True)
@click.argument("build_id", required=False, metavar="[ID]")
def builds_info(env: Env, build_id: str | None, app: str | None, as_json: bool) -> None:
    """Show one build (default: the latest).

    ID may be the first 6 or more characters of the build's id (see `pier builds`).
    """
    name = env.app(app)
    client = env.client()
    data = _build(client, name, build_id)
    if as_json:
        env.out.json(data)
        return
    env.out.heading(f"{name} build {data['id']}")
    process_types = data.get("process_types") or {}
    env.out.pairs(
        [
            ("Status", data["status"]),
            ("Commit", data.get("source_sha") or ""),
            ("Buildpack", data.get("buildpack") or ""),
            ("Image", data.get("image") or ""),
            ("Created", format_time(data.get("created_at"))),
            ("Started", format_time(data.get("started_at"))),
            ("Finished", format_time(data.get("finished_at"))),
            (
                "Processes",
                "\n".join(f"{kind}: {command}" for kind, command in process_types.items()),
            ),
        ]
    )


@app_command("builds:output")
@click.argument("build_id", required=False, metavar="[ID]")
def builds_output(env: Env, build_id: str | None, app: str | None) -> None:
    """Print a build's output (default: the latest build's).

    ID may be the first 6 or more characters of the build's id (see `pier builds`).
    Works while the build runs too: it prints what the build wrote so far.
    """
    name = env.app(app)
    if build_id:
        path = api_path("apps", name, "builds", build_id, "output")
    else:
        path = api_path("apps", name, "build-output")
    text = log_text(env.client().text(path))
    if text:
        click.echo(text, nl=not text.endswith("\n"), color=env.out.tty)


def _build(client: Client, app: str, build_id: str | None) -> dict:
    if build_id:
        return client.get(api_path("apps", app, "builds", build_id))
    rows = client.get(api_path("apps", app, "builds"))
    if not rows:
        raise CliError(f"{app} has no builds yet: deploy with `git push pier main`")
    return rows[0]


COMMANDS = [builds_list, builds_info, builds_output]
