"""pier container:release: release an image pushed to Pier's registry (Heroku's vocabulary)."""

import time

import click

from cli.client import api_path
from cli.commands.options import app_command
from cli.context import Env
from cli.errors import CliError

POLL_SECONDS = 1.0


@app_command("container:release", json=True)
@click.argument("process_types", nargs=-1, required=True, metavar="TYPE...")
@click.option("--image", required=True, metavar="APP:TAG",
              help="An image pushed to Pier's registry: APP:TAG or APP@sha256:DIGEST.")
def container_release(env: Env, process_types: tuple[str, ...], image: str, app: str | None,
                      as_json: bool) -> None:
    """Release an image from Pier's registry as the given process types.

    Each runs the image's CMD. Waits until the release is running (its web processes
    healthy) or has failed, the running release then unchanged.
    """
    name = env.app(app)
    client = env.client()
    release = client.post(api_path("apps", name, "container-releases"),
                          {"image": image, "process_types": list(process_types)})
    if not as_json:
        env.out.note(f"Releasing {image} as {', '.join(process_types)} to {name}: "
                     f"v{release['version']}...")
    while release["status"] == "pending":
        time.sleep(POLL_SECONDS)
        release = client.get(api_path("apps", name, "releases", f"v{release['version']}"))
    if as_json:
        env.out.json(release)
    if release["status"] != "succeeded":
        raise CliError(f"v{release['version']} failed; the running release is unchanged",
                       hint=f"see why with `pier logs -a {name}`")
    if not as_json:
        env.out.success(f"Released v{release['version']} of {name}")


COMMANDS = [container_release]
