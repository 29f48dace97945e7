"""pier pipelines, pipelines:create, pipelines:add, pipelines:promote."""

import click

from cli.client import api_path
from cli.commands.options import app_command, json_option, pass_env
from cli.context import Env

STAGES = click.Choice(["development", "staging", "production"])


def _show(env: Env, pipeline: dict) -> None:
    env.out.heading(f"=== {pipeline['name']}")
    rows = []
    for stage in pipeline["stages"]:
        for app in stage["apps"]:
            release = app["release"]
            rows.append([stage["stage"], app["name"],
                         f"v{release['version']} {release['description']}" if release else ""])
    env.out.table(["stage", "app", "current release"], rows)


@click.command("pipelines")
@click.argument("name", required=False)
@json_option
@pass_env
def pipelines_info(env: Env, name: str | None, as_json: bool) -> None:
    """Show pipeline NAME (its stages, apps and their releases), or list them all."""
    data = env.client().get(api_path("pipelines", name) if name else api_path("pipelines"))
    if as_json:
        env.out.json(data)
        return
    for pipeline in [data] if name else data:
        _show(env, pipeline)
    if not name and not data:
        env.out.note("No pipelines yet: create one with `pier pipelines:create NAME -a APP`.")


@app_command("pipelines:create")
@click.argument("name")
@click.option("--stage", "-s", type=STAGES, required=True, help="The app's stage.")
def pipelines_create(env: Env, name: str, stage: str, app: str | None) -> None:
    """Create pipeline NAME with the app in STAGE."""
    app_name = env.app(app)
    env.client().post(api_path("pipelines"), {"name": name, "app": app_name, "stage": stage})
    env.out.success(f"Created pipeline {name} with {app_name} in {stage}")


@app_command("pipelines:add")
@click.argument("name")
@click.option("--stage", "-s", type=STAGES, required=True, help="The app's stage.")
def pipelines_add(env: Env, name: str, stage: str, app: str | None) -> None:
    """Add the app to pipeline NAME in STAGE."""
    app_name = env.app(app)
    env.client().post(api_path("pipelines", name, "apps"), {"app": app_name, "stage": stage})
    env.out.success(f"Added {app_name} to {name} in {stage}")


@app_command("pipelines:promote")
def pipelines_promote(env: Env, app: str | None) -> None:
    """Promote the app's current release (its image, not its config) to the next stage."""
    name = env.app(app)
    data = env.client().post(api_path("apps", name, "pipeline-promotions"))
    for line in data["output"]:
        env.out.line(line)
    for release in data["releases"]:
        env.out.success(f"{release['app']}: v{release['version']} {release['description']} "
                        f"({release['status']}: the runtime health-checks it next)")


COMMANDS = [pipelines_info, pipelines_create, pipelines_add, pipelines_promote]
