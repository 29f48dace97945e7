"""pier cron, cron:run: the scheduled jobs of app.json's "cron", and running one now."""

import click

from cli.client import api_path
from cli.commands.listing import app_list_command
from cli.commands.options import app_command
from cli.context import Env
from cli.output import format_time

cron_list = app_list_command(
    "cron",
    help="List the app's scheduled jobs (times in UTC).",
    empty="{app} has no scheduled jobs: add a \"cron\" list to app.json.",
    headers=["id", "schedule", "command", "next run", "last run", "exit"],
    row=lambda j: [j["id"], j["schedule"], j["command"], format_time(j["next_run_at"]),
                   "running" if j["running"] else format_time(j["last_run_at"]),
                   "" if j["last_status"] is None else j["last_status"]],
)


@app_command("cron:run")
@click.argument("job_id", metavar="ID")
def cron_run(env: Env, job_id: str, app: str | None) -> None:
    """Run scheduled job ID now; its output goes to `pier logs` as scheduler.N."""
    name = env.app(app)
    job = env.client().post(api_path("apps", name, "cron", job_id, "run"))
    env.out.success(f"Running `{job['command']}` on {name}: see `pier logs --tail`")


COMMANDS = [cron_list, cron_run]
