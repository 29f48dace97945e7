"""Run the real `pier` command in-process against the real API in a live Django server."""

from collections.abc import Callable

import pytest
from click.testing import CliRunner, Result

from cli.context import Env
from cli.main import cli


@pytest.fixture
def pier_server(transactional_db, live_server, settings):
    """Return the live server's URL; the git URLs the API hands out point at it too."""
    settings.PIER_API_URL = live_server.url
    return live_server.url


@pytest.fixture
def owner(transactional_db, make_user):
    return make_user("owner@example.com")


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """Return the directory commands run in (not a git repository unless a test makes it one)."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.fixture
def pier(pier_server, owner, workdir, tmp_path, monkeypatch) -> Callable[..., Result]:
    """Invoke `pier ARGS` as `owner` (or with env overrides); return click's Result."""
    home = tmp_path / "home"
    home.mkdir()
    for var in ("XDG_CONFIG_HOME", "PIER_API_URL", "PIER_API_KEY", "PIER_DEBUG"):
        monkeypatch.delenv(var, raising=False)

    def invoke(*args: str, env: dict | None = None, input: str | None = None) -> Result:
        environ = {
            "PIER_API_URL": pier_server,
            "PIER_API_KEY": owner.plaintext_token,
            "HOME": str(home),
        }
        environ.update(env or {})
        return CliRunner().invoke(cli, list(args), obj=Env(tty=False), env=environ, input=input)

    return invoke

