"""Redis (Debian's redis-server) with a password, its data kept in an append-only file."""

from __future__ import annotations

from addons.services.base import SAFE, AddonService, Plan, token


def _password(credentials: dict[str, str]) -> str:
    password = credentials["password"]
    if not SAFE.match(password):
        raise ValueError("add-on credentials must be lowercase letters, digits and _")
    return password


class Service(AddonService):
    name = "redis"
    attachment = "REDIS"
    image = "pier/service-redis:latest"
    data_path = "/data"
    port = 6379

    def credentials(self) -> dict[str, str]:
        return {"password": token(nbytes=24)}

    def command(self, *, credentials: dict[str, str], plan: Plan) -> tuple[str, ...]:
        return ("--requirepass", _password(credentials), "--appendonly", "yes",
                "--dir", self.data_path, "--maxmemory", f"{plan.memory_mb * 3 // 4}mb")

    def url(self, *, credentials: dict[str, str], host: str, port: int) -> str:
        return f"redis://default:{_password(credentials)}@{host}:{port}"

    def ready_command(self, *, credentials: dict[str, str]) -> list[str]:
        return ["redis-cli", "--no-auth-warning", "-a", _password(credentials), "-e", "ping"]

    def client(self, *, credentials: dict[str, str], host: str,
               port: int) -> tuple[list[str], dict[str, str]]:
        return (["redis-cli", "-h", host, "-p", str(port)],
                {"REDISCLI_AUTH": _password(credentials), "HOME": "/tmp"})

    def recreate_to_rotate(self) -> bool:
        # The password is in redis-server's command line: a restart by Docker would bring
        # the old one back unless the container is made again with the new command.
        return True
