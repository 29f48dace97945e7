"""pier run: run a one-off command in a new process of the app, attached or detached."""

import json
import shlex
import sys

import click

from cli.client import api_path
from cli.commands.options import app_option, pass_env
from cli.context import Env
from cli.errors import CliError
from cli.terminal import both_ends_are_terminals, run_on_terminal

INTERRUPTED = 130  # the shell's status for a command stopped by Ctrl-C


@click.command(
    "run",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.option("--detach", is_flag=True, help="Run in the background; see the output with logs.")
@click.option("--no-tty", is_flag=True,
              help="Stream output only, even from a terminal (no keyboard input).")
@click.option(
    "-s", "--size", default="standard", show_default=True, help="Size of the one-off process."
)
@app_option
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED, metavar="-- CMD...")
@pass_env
@click.pass_context
def run(
    ctx: click.Context,
    env: Env,
    detach: bool,
    no_tty: bool,
    size: str,
    app: str | None,
    command: tuple[str, ...],
) -> None:
    """Run a one-off command in a new process of the app.

    The process runs the app's current release.

    Attached (the default), the command's output streams here and `pier` exits with the
    command's exit status. From a terminal, the process gets one too: type into it
    (`pier run -a APP bash`); `--no-tty` only streams the output. Put `--` before the
    command so its options stay its own:
    `pier run -a APP -- python manage.py migrate --noinput`.
    """
    name = env.app(app)
    line = shlex.join(command)
    path = api_path("apps", name, "dynos", "run")
    body = {"command": line, "attach": not detach, "size": size}
    client = env.client()
    click.echo(f"Running {line} on {name}... ", nl=False, err=True)
    if detach:
        try:
            answer = client.post(path, body) or {}
        except CliError:
            click.echo("failed", err=True)
            raise
        dyno = answer.get("name") or "?"
        click.echo(f"up, {dyno}", err=True)
        env.out.note(f"Run `pier logs -a {name} -d {dyno}` to see the output")
        return
    if not no_tty and both_ends_are_terminals():
        click.echo("up", err=True)
        ctx.exit(run_on_terminal(client, name, line, size))
    try:
        code = _attached(client, path, body)
    except KeyboardInterrupt:
        click.echo(err=True)
        ctx.exit(INTERRUPTED)
    ctx.exit(code)


def _attached(client, path: str, body: dict) -> int:
    """Stream the process's output to stdout; return its exit status."""
    up = False
    try:
        headers = {"Accept": "application/x-ndjson"}
        with client.stream("POST", path, body=body, headers=headers) as response:
            click.echo("up", err=True)
            up = True
            with client.transport_errors():
                for raw in response.iter_lines():
                    code = _handle(raw)
                    if code is not None:
                        return code
    except CliError:
        if not up:
            click.echo("failed", err=True)
        raise
    raise CliError("the connection closed before the command finished: its exit status is unknown")


def _handle(raw: str) -> int | None:
    """Act on one NDJSON line of an attached run; return the exit status once it comes."""
    if not raw.strip():
        return None
    try:
        message = json.loads(raw)
    except ValueError as e:
        raise CliError(f"the server sent a line that is not JSON: {raw[:200]!r}") from e
    if not isinstance(message, dict):
        return None
    if "output" in message:
        _write_raw(str(message["output"]))
    if "error" in message:
        raise CliError(str(message["error"]))
    if "exit_code" in message:
        return _status(message["exit_code"])
    return None


def _write_raw(text: str) -> None:
    """Write text exactly as the process wrote it (colour codes too), at once."""
    stdout = sys.stdout
    stdout.flush()
    buffer = getattr(stdout, "buffer", None)
    if buffer is None:
        stdout.write(text)
        stdout.flush()
        return
    buffer.write(text.encode("utf-8", "replace"))
    buffer.flush()


def _status(value) -> int:
    try:
        code = int(value)
    except (TypeError, ValueError):
        return 1
    return code if 0 <= code <= 255 else 1


COMMANDS = [run]
