"""Run the real platform (`manage.py up`: the Procfile's processes) for end-to-end tests.

Each session gets its own data dir, its own database (a fresh PostgreSQL database when
DATABASE_URL points at PostgreSQL, else SQLite) and its own redis-server child, so a developer's
running Pier never picks up a test's builds.
"""

import contextlib
import functools
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import docker
import httpx
import psycopg
import pytest

from builds.engine import ensure_stack_images
from tests.e2e.helpers import APP_SERVER
from tests.helpers import accepts_connections, free_port, git, platform_pids, wait_for

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "apps"


def _fresh_postgres(url: str):
    """Create a throwaway database next to the one in url; return its URL and a dropper."""
    name = f"pier_e2e_{uuid.uuid4().hex[:8]}"
    admin = urlunparse(urlparse(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return urlunparse(urlparse(url)._replace(path=f"/{name}")), drop


class Platform:
    """The whole platform (`manage.py up`) as a child process group, and a client of it."""

    def __init__(self, env: dict, data_dir: Path, port: int, router_port: int):
        self.env, self.data_dir = env, data_dir
        self.url, self.router_port = f"http://127.0.0.1:{port}", router_port
        self.output = data_dir / "platform.log"
        self.proc: subprocess.Popen | None = None
        self.token = ""
        self.api: httpx.Client | None = None

    def start(self) -> None:
        with self.output.open("a") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(ROOT / "manage.py"), "up"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        token = _wait_until_up(self.proc, self.output, self.url, first=not self.token)
        # The API answering is not all: the router (and the registry, which collects its
        # garbage before it listens) come up a little later.
        ports = [self.router_port]
        if registry := self.env.get("PIER_REGISTRY"):
            ports.append(int(registry.rpartition(":")[2]))
        for port in ports:
            wait_for(lambda port=port: accepts_connections(port), timeout=60,
                     what=f"the platform's port {port} to listen")
        if not self.token:
            self.token = token
            self.api = httpx.Client(
                base_url=self.url + "/api",
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )

    def stop(self) -> None:
        """Stop every platform process the way Ctrl-C on `make run` does."""
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def pids(self, *words: str) -> list[int]:
        """The platform's process running ``words`` (see ``platform_pids``)."""
        return platform_pids(self.data_dir, *words)

    def git_url(self, app: str, token: str | None = None) -> str:
        host = self.url.removeprefix("http://")
        return f"http://user:{token or self.token}@{host}/{app}.git"

    def get(self, app: str, path: str = "/", host: str | None = None) -> httpx.Response:
        """Request path of app through the router, by its Host header."""
        return httpx.get(
            f"http://127.0.0.1:{self.router_port}{path}",
            headers={"Host": host or f"{app}.localhost"},
            timeout=10,
        )

    def create_app(self, name: str) -> dict:
        response = self.api.post("/apps", json={"name": name})
        assert response.status_code == 201, response.text
        return response.json()


@contextlib.contextmanager
def platform_running(tmp_path_factory, name: str = "pier-data", **overrides: str | None):
    """Run the whole platform with a data dir of its own, and stop it afterwards.

    ``overrides`` change its environment (None unsets a variable: DATABASE_URL=None is
    SQLite in the data dir). It gets a fresh PostgreSQL database when DATABASE_URL points
    at PostgreSQL, and always a redis-server child of its own (as `make run` starts one):
    nothing shared with other runs. The app containers it started are removed at the end.
    """
    if (
        shutil.which("docker") is None
        or subprocess.run(["docker", "info"], capture_output=True).returncode
    ):
        pytest.skip("end-to-end tests need a running Docker Engine (scripts/ensure-docker.sh)")
    # Built once here, with no time limit: `up` then finds them ready.
    ensure_stack_images(progress=lambda line: None)
    data_dir = tmp_path_factory.mktemp(name)
    port, router_port = free_port(), free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "PIER_DATA_DIR": str(data_dir),
        "PIER_ADMIN_EMAIL": "e2e@example.com",
        "PIER_ROUTER_PORT": str(router_port),
        "WEB_CONCURRENCY": "1",
        "PIER_BUILD_CONCURRENCY": "1",
        "PIER_ONEOFF_CONCURRENCY": "1",
    }
    env.pop("PIER_API_URL", None)
    env.pop("REDIS_URL", None)
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    drop_db = None
    if env.get("DATABASE_URL", "").startswith("postgres"):
        env["DATABASE_URL"], drop_db = _fresh_postgres(env["DATABASE_URL"])
    platform = Platform(env, data_dir, port, router_port)
    try:
        platform.start()
        yield platform
    finally:
        if platform.proc is not None:
            platform.stop()
        _remove_app_containers(data_dir)
        if drop_db:
            drop_db()


@pytest.fixture(scope="session")
def platform(tmp_path_factory):
    # The drain tests listen on 127.0.0.1, which drains may reach only when allowed.
    with platform_running(tmp_path_factory, PIER_OUTBOUND_ALLOW="127.0.0.0/8") as platform:
        yield platform


def platform_label(data_dir: Path) -> str:
    """The ``pier.platform`` label of what a platform with this data dir starts."""
    return hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]


def _remove_app_containers(data_dir: Path) -> None:
    """Remove the app containers this platform started (they outlive it, by design)."""
    label = platform_label(data_dir)
    client = docker.from_env()
    for container in client.containers.list(all=True, filters={"label": f"pier.platform={label}"}):
        container.remove(force=True)


def _wait_until_up(proc, output: Path, url: str, first: bool) -> str:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the platform exited with {proc.returncode}:\n{output.read_text()}")
        text = output.read_text()
        try:
            healthy = httpx.get(url + "/api/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            healthy = False
        marker = "Its API token (shown once):"
        if healthy and not first:
            return ""
        if healthy and marker in text:
            return text.split(marker, 1)[1].split()[0]
        time.sleep(0.5)
    pytest.fail(f"the platform did not come up in 120 s:\n{output.read_text()}")


@pytest.fixture
def app_repo(tmp_path):
    """Return a function making a git repo (branch main) from a fixture app."""

    def make(fixture: str) -> Path:
        repo = tmp_path / fixture
        shutil.copytree(FIXTURES / fixture, repo)
        git("init", "--quiet", "--initial-branch=main", cwd=repo)
        git("add", "-A", cwd=repo)
        git("commit", "--quiet", "-m", "first", cwd=repo)
        return repo

    return make


def push_server(platform, workdir: Path, text: str = "v-one", app: str | None = None,
                procfile: str | None = None, app_json: dict | None = None):
    """Push a small server whose reply names its text, COLOR and DYNO (creating the app
    and its repository in ``workdir`` the first time), with ``app_json`` as its app.json
    when given; return (app, git's result)."""
    app = app or f"rt-{uuid.uuid4().hex[:6]}"
    repo = workdir / app
    if not repo.exists():
        platform.create_app(app)
        repo.mkdir()
        git("init", "-q", "--initial-branch=main", cwd=repo)
    (repo / "Procfile").write_text(procfile or APP_SERVER.format(text=text))
    if app_json is not None:
        (repo / "app.json").write_text(json.dumps(app_json))
    git("add", "-A", cwd=repo)
    git("commit", "-qm", text, cwd=repo)
    result = git("push", platform.git_url(app), "HEAD:main", cwd=repo, check=False)
    return app, result


@pytest.fixture
def pushed(platform, tmp_path):
    """Push a small server to the session's platform (see push_server)."""
    return functools.partial(push_server, platform, tmp_path)
