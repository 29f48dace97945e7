"""The contract of an add-on service plug-in: one module per service, exporting ``Service``.

A new kind of add-on (MySQL, say) is one new module here and its dotted path in
``PIER_ADDON_SERVICES``: a service says what image its container runs and how, how to
build its URL from an add-on's credentials, and which commands (run inside its
container) make it ready, set its credentials, report on it, back it up and restore it.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from runtime.addons import DesiredAddon

# Generated names and passwords: never quoted in commands, so they must stay this simple.
SAFE = re.compile(r"^[a-z0-9_]{1,63}$")


@dataclass(frozen=True)
class Plan:
    name: str
    memory_mb: int
    description: str


PLANS = {
    plan.name: plan
    for plan in (
        Plan("mini", 256, "256 MB of memory; for development and small apps"),
        Plan("standard", 1024, "1 GB of memory"),
        # Heroku's standard-0 size. The limit holds the page cache too: a database stays in
        # memory (and as fast as on the host) only while it fits its plan.
        Plan("premium", 4096, "4 GB of memory; a database of up to ~3 GB stays in memory"),
    )
}
DEFAULT_PLAN = "mini"


def token(prefix: str = "", nbytes: int = 6) -> str:
    return prefix + secrets.token_hex(nbytes)


class AddonService:
    name = ""  # what users type: `pier addons:create <name>`
    attachment = ""  # default attachment name: DATABASE gives DATABASE_URL
    image = ""  # built by buildpacks/services/build.sh <name>
    data_path = ""  # where the add-on's volume is mounted in its container
    port = 0
    backups = False  # supports pg:backups

    def credentials(self) -> dict[str, str]:
        """Return new credentials for an add-on: at least ``password``."""
        raise NotImplementedError("a service must provide credentials()")

    def command(self, *, credentials: dict[str, str], plan: Plan) -> tuple[str, ...]:
        """Return the server's options (its image's entrypoint starts the server with them).

        The entrypoint runs a program instead when the first argument is not an option:
        that is how `pier pg:psql` runs the client from the same image.
        """
        raise NotImplementedError("a service must provide command(credentials, plan)")

    def url(self, *, credentials: dict[str, str], host: str, port: int) -> str:
        raise NotImplementedError("a service must provide url(credentials, host, port)")

    def ready_command(self, *, credentials: dict[str, str]) -> list[str]:
        """Return a command that exits 0 in the container once the service takes clients."""
        raise NotImplementedError("a service must provide ready_command(credentials)")

    def setup_commands(self, *, credentials: dict[str, str]) -> list[list[str]]:
        """Return commands that make the credentials valid (run at creation and rotation)."""
        return []

    def client(self, *, credentials: dict[str, str], host: str,
               port: int) -> tuple[list[str], dict[str, str]]:
        """Return the interactive client (psql, redis-cli) as (argv, environment).

        It runs from the service's image in a one-off process (`pier pg:psql`): the
        credentials go in the environment, never in argv, which logs and `ps` show.
        """
        raise NotImplementedError("a service must provide client(credentials, host, port)")

    def recreate_to_rotate(self) -> bool:
        """Return True when new credentials need a new container (they are in its command)."""
        return False

    def desired(self, *, addon_id: str, name: str, credentials: dict[str, str],
                plan: Plan) -> DesiredAddon:
        return DesiredAddon(id=addon_id, name=name, image=self.image, data_path=self.data_path,
                            memory_mb=plan.memory_mb,
                            command=self.command(credentials=credentials, plan=plan))
