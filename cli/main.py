"""The `pier` command: the root click group, and the one place errors become messages."""

import os
import sys
import traceback

import click

from cli import __version__
from cli.commands import (
    access,
    addons,
    apps,
    auth,
    builds,
    certs,
    config,
    container,
    cron,
    domains,
    drains,
    logs,
    metrics,
    nodes,
    pg,
    pipelines,
    ps,
    redis,
    releases,
    run,
    webhooks,
)
from cli.context import Env
from cli.errors import CliError

TOPICS = (auth, apps, config, releases, builds, ps, run, logs, drains, domains, certs, access,
          addons, pg, redis, webhooks, cron, pipelines, metrics, nodes, container)


def report(error: CliError) -> None:
    """Print error as one red line on stderr (colour only on a terminal), then its hint."""
    click.echo(click.style(f"error: {error.message}", fg="red", bold=True), err=True)
    if error.hint:
        click.echo(click.style(f"hint: {error.hint}", dim=True), err=True)


class PierGroup(click.Group):
    def invoke(self, ctx: click.Context):
        """Run the command; turn a CliError into a message and its exit code.

        This is the only place the CLI catches errors; `--debug` adds the traceback.
        """
        try:
            return super().invoke(ctx)
        except CliError as e:
            if ctx.params.get("debug") or _env_debug():
                click.echo("".join(traceback.format_exception(e)), err=True)
            report(e)
            ctx.exit(e.exit_code)


def _env_debug() -> bool:
    return os.environ.get("PIER_DEBUG", "").lower() in {"1", "true", "yes", "on"}


@click.group(cls=PierGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show HTTP requests and tracebacks.")
@click.version_option(__version__, prog_name="pier")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Pier: git push your apps to your own machine.

    The server is $PIER_API_URL (default http://127.0.0.1:5000); log in with `pier login`.
    Commands that act on an app take -a APP, or find it from the `pier` git remote.
    """
    env = ctx.ensure_object(Env)
    env.debug = env.debug or debug or _env_debug()


for topic in TOPICS:
    for command in topic.COMMANDS:
        cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="pier", obj=Env())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
