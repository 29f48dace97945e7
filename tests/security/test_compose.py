"""docker-compose.yml exposes only the router, the control plane and the registry;
Redis needs a password.

`docker compose` is not installed on the development machines, so the file is parsed with
PyYAML and compose's `${VAR:?message}` / `${VAR:-default}` interpolation is done here; the
Redis command line and URL that come out are then tried against a real redis-server.
"""

from __future__ import annotations

import re
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis
import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"
VARIABLE = re.compile(r"\$\{(\w+)(?::([?-])([^}]*))?\}")
PASSWORD = "s3cret-from-dot-env"


def interpolate(value: str, env: dict[str, str]) -> str:
    def one(match: re.Match) -> str:
        name, kind, rest = match.groups()
        if name in env:
            return env[name]
        if kind == "?":
            raise LookupError(f"{name}: {rest}")
        return rest if kind == "-" else ""

    return VARIABLE.sub(one, value)


@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def test_only_router_and_control_plane_listen_on_the_host(services):
    published = {name for name, s in services.items() if s.get("ports")}
    host_network = {name for name, s in services.items() if s.get("network_mode") == "host"}
    assert published == {"web", "registry"}  # the control plane, Pier's registry
    assert host_network == {"runtime", "router"}  # the router's :80; the runtime listens on none
    assert "ports" not in services["postgres"] and "ports" not in services["redis"]


def test_redis_requires_a_password_that_has_no_default(services):
    command = services["redis"]["command"]
    assert command[:2] == ["redis-server", "--requirepass"]
    with pytest.raises(LookupError, match="PIER_REDIS_PASSWORD"):
        interpolate(command[2], {})
    urls = [s["environment"]["REDIS_URL"] for s in services.values() if "environment" in s
            and "REDIS_URL" in s["environment"]]
    assert urls and all(
        redis.Redis.from_url(interpolate(url, {"PIER_REDIS_PASSWORD": PASSWORD}))
        .connection_pool.connection_kwargs["password"] == PASSWORD
        for url in urls
    )


def test_the_stacks_redis_refuses_clients_without_the_password(services, tmp_path):
    env = {"PIER_REDIS_PASSWORD": PASSWORD}
    command = [interpolate(arg, env) for arg in services["redis"]["command"]]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([*command, "--port", str(port), "--bind", "127.0.0.1",
                               "--save", "", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    try:
        url = interpolate(services["worker"]["environment"]["REDIS_URL"], env)
        url = url.replace("@redis:6379", f"@127.0.0.1:{port}")
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.025)
        assert redis.Redis.from_url(url).ping()
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=port).get("anything")
    finally:
        server.terminate()
        server.wait(10)


def procfile() -> dict[str, str]:
    lines = (COMPOSE.parent / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line and not line.startswith("#"))


def test_every_procfile_process_runs_in_compose_with_the_same_command(services):
    """The documented substitutions only: defaults for ${VAR:-default}, /data for the data
    dir (the image's PIER_DATA_DIR), and web migrating before it starts."""
    image_env = {"PIER_DATA_DIR": "/data"}
    for name, command in procfile().items():
        assert name in services, f"Procfile's {name} has no service in docker-compose.yml"
        composed = services[name]["command"]
        if isinstance(composed, list):
            composed = " ".join(composed)
        composed = composed.removeprefix('sh -c "python manage.py migrate --noinput && exec ')
        assert composed.removesuffix('"') == interpolate(command, image_env), name
