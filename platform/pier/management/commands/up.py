"""Bring the whole platform up in the foreground: what `make run` ends with."""

import os
import secrets
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import docker
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from honcho.environ import parse_procfile
from honcho.manager import Manager

from api.services.tokens import token_create, user_create
from builds.engine import BuildFailed, ensure_stack_images


class Command(BaseCommand):
    help = "Migrate, create the first user on first run, then run every process of the Procfile."

    def add_arguments(self, parser):
        parser.add_argument("--procfile", default=str(settings.BASE_DIR / "Procfile"))
        parser.add_argument("--admin-email", default=os.environ.get("PIER_ADMIN_EMAIL"))

    def handle(self, *args, procfile, admin_email, **options):
        self._prepare_docker()
        call_command("migrate", interactive=False, verbosity=0)
        first_login = self._first_user(admin_email or f"admin@{settings.PIER_DOMAIN}")
        manager = Manager()
        env = self._process_env()
        processes = parse_procfile(Path(procfile).read_text()).processes
        if "REDIS_URL" not in os.environ:
            processes = {"redis": self._redis_command(), **processes}
        if not settings.PIER_REGISTRY:
            processes.pop("registry", None)  # Pier's registry is opt-in
        for name, command in processes.items():
            manager.add_process(name, _respawning(name, command), env=env,
                                cwd=str(settings.BASE_DIR))
        self._banner(first_login)
        manager.loop()
        sys.exit(manager.returncode)

    def _prepare_docker(self) -> None:
        """Start Docker when it is not running, and build the stack images once (with progress)."""
        script = settings.BASE_DIR / "scripts" / "ensure-docker.sh"
        if not _docker_answers() and subprocess.run([str(script)]).returncode != 0:
            raise CommandError("Docker Engine is not available: builds need it (see above)")
        try:
            ensure_stack_images(progress=lambda line: self.stdout.write(line))
        except BuildFailed as e:
            raise CommandError(e.message) from e

    def _first_user(self, email: str) -> str | None:
        """Create the first user when there is none; return the login line to print."""
        if get_user_model().objects.exists():
            return None
        password = secrets.token_urlsafe(12)
        user = user_create(email=email, password=password)
        _, token = token_create(user=user, name="first run")
        return (
            f"  First user {user.email} created. Its API token (shown once):\n"
            f"    {token}\n"
            f"  Log in the CLI:  .venv/bin/pier login --api-url {settings.PIER_PUBLIC_URL} "
            f"--token {token}\n"
            f"  Dashboard login: {user.email} / {password}"
            f"  (change it with `python manage.py changepassword {user.username}`)\n"
        )

    def _process_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.setdefault("REDIS_URL", settings.REDIS_URL)
        env["PIER_DATA_DIR"] = str(settings.PIER_DATA_DIR)
        env["PORT"] = str(settings.PIER_PORT)
        venv_bin = str(Path(sys.executable).parent)
        env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
        return env

    def _redis_command(self) -> str:
        """Return the embedded redis-server command: it listens on a socket in the data dir."""
        if shutil.which("redis-server") is None:
            raise CommandError(
                "redis-server is not installed: run `make deps` (or apt-get install redis-server),"
                " or set REDIS_URL to an existing Redis"
            )
        data = settings.PIER_DATA_DIR
        return (
            f"redis-server --port 0 --unixsocket {data / 'redis.sock'} --unixsocketperm 700"
            f" --dir {data} --save 60 1 --appendonly no"
        )

    def _banner(self, first_login: str | None) -> None:
        s = settings
        self.stdout.write(
            f"\nPier is starting (data in {s.PIER_DATA_DIR}):\n"
            f"  Dashboard  {s.PIER_PUBLIC_URL}/\n"
            f"  API        {s.PIER_PUBLIC_URL}/api/   (PIER_API_URL={s.PIER_API_URL})\n"
            f"  Router     http://<app>.{s.PIER_DOMAIN}:{s.PIER_ROUTER_PORT}/\n"
            + (f"  Registry   {s.PIER_REGISTRY}   (docker login {s.PIER_REGISTRY} -u me"
               " -p $API_TOKEN)\n" if s.PIER_REGISTRY else "")
            + (
                first_login
                or "  Log in with `pier login`; mint a token with "
                "`python manage.py createuser EMAIL --token-only`.\n"
            )
            + "  Ctrl-C stops everything.\n"
        )
        self.stdout.flush()


def _docker_answers() -> bool:
    """One API call: cheaper than the script's `docker info` when the Engine is up."""
    try:
        return docker.from_env().ping()
    except docker.errors.DockerException:
        return False


def _respawning(name: str, command: str) -> str:
    """Wrap a Procfile command so that it is started again when it dies (scripts/respawn.py)."""
    script = settings.BASE_DIR / "scripts" / "respawn.py"
    return shlex.join([sys.executable, str(script), name, "--", "/bin/sh", "-c", command])
