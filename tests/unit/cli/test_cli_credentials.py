import json
import stat

import pytest

from cli.credentials import (
    credentials_delete,
    credentials_load,
    credentials_path,
    credentials_save,
)
from cli.errors import CliError


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_saved_credentials_are_readable_by_the_owner_only(home):
    path = credentials_save(api_url="http://pier.test", token="pier_abc", email="a@example.com")
    assert path == home / ".config" / "pier" / "credentials"
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    assert json.loads(path.read_text()) == {
        "api_url": "http://pier.test",
        "token": "pier_abc",
        "email": "a@example.com",
    }


def test_saving_over_a_world_readable_file_tightens_its_mode(home):
    path = credentials_path()
    path.parent.mkdir(parents=True)
    path.write_text("{}")
    path.chmod(0o644)
    credentials_save(api_url="http://pier.test", token="t", email="e@example.com")
    assert _mode(path) == 0o600


def test_xdg_config_home_is_honoured(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert credentials_path() == tmp_path / "xdg" / "pier" / "credentials"
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/ignored")
    assert credentials_path().parent.parent.name == ".config"


def test_environment_overrides_the_file(monkeypatch):
    credentials_save(api_url="http://saved.test/", token="saved", email="a@example.com")
    creds = credentials_load()
    assert (creds.api_url, creds.token, creds.email) == (
        "http://saved.test",
        "saved",
        "a@example.com",
    )
    monkeypatch.setenv("PIER_API_URL", "http://env.test")
    monkeypatch.setenv("PIER_API_KEY", "from-env")
    creds = credentials_load()
    assert (creds.api_url, creds.token, creds.token_source) == (
        "http://env.test",
        "from-env",
        "PIER_API_KEY",
    )


def test_defaults_without_file_or_environment():
    creds = credentials_load()
    assert creds.api_url == "http://127.0.0.1:5000"
    assert creds.token is None


def test_corrupt_file_is_a_clear_error():
    path = credentials_path()
    path.parent.mkdir(parents=True)
    path.write_text("not json")
    with pytest.raises(CliError, match="cannot read credentials"):
        credentials_load()


def test_delete_reports_whether_there_was_a_file():
    assert credentials_delete() is None
    credentials_save(api_url="http://pier.test", token="t", email="e@example.com")
    assert credentials_delete() == credentials_path()
    assert not credentials_path().exists()


def test_login_with_password_saves_the_token(run, api):
    api.on("POST", "login", {"token": "pier_new", "email": "a@example.com"}, status=201)
    result = run(
        "login",
        "--api-url",
        "http://other.test/",
        input="a@example.com\nsecret\n",
        env={"PIER_API_KEY": None, "PIER_API_URL": None},
    )
    assert result.exit_code == 0, result.output
    assert api.sent("POST", "login") == {
        "email": "a@example.com",
        "password": "secret",
        "name": "pier login",
    }
    assert "Authorization" not in api.requests[0].headers
    assert "secret" not in result.stdout
    assert json.loads(credentials_path().read_text()) == {
        "api_url": "http://other.test",
        "token": "pier_new",
        "email": "a@example.com",
    }
    assert _mode(credentials_path()) == 0o600


def test_login_with_token_verifies_it_first(run, api):
    api.on("GET", "account", {"id": 1, "email": "a@example.com"})
    result = run("login", "--token", "pier_given", env={"PIER_API_KEY": None})
    assert result.exit_code == 0, result.output
    assert api.requests[0].headers["Authorization"] == "Bearer pier_given"
    assert json.loads(credentials_path().read_text())["token"] == "pier_given"


def test_login_with_wrong_password_saves_nothing(run, api):
    api.on("POST", "login", {"id": "invalid_params", "message": "wrong email or password"}, 422)
    result = run("login", "--email", "a@example.com", input="bad\n", env={"PIER_API_KEY": None})
    assert result.exit_code == 1
    assert "error: wrong email or password" in result.stderr
    assert not credentials_path().exists()


def test_whoami_uses_the_saved_token(run, api):
    credentials_save(api_url="http://pier.test", token="pier_saved", email="a@example.com")
    api.on("GET", "account", {"id": 1, "email": "a@example.com"})
    result = run("whoami", env={"PIER_API_KEY": None})
    assert result.stdout == "a@example.com\n"
    assert api.requests[0].headers["Authorization"] == "Bearer pier_saved"


def test_logout_revokes_only_a_token_that_login_minted(run, api):
    credentials_save(api_url="http://pier.test", token="pier_minted123", email="a@example.com")
    api.on(
        "GET",
        "account/tokens",
        [
            {"id": 7, "name": "pier login", "prefix": "pier_minted1"},
            {"id": 8, "name": "laptop", "prefix": "pier_other12"},
        ],
    )
    api.on("DELETE", "account/tokens/7", status=204)
    result = run("logout", env={"PIER_API_KEY": None})
    assert result.exit_code == 0, result.output
    assert "DELETE /api/account/tokens/7" in api.paths()
    assert not credentials_path().exists()

    credentials_save(api_url="http://pier.test", token="pier_other12x", email="a@example.com")
    api.requests.clear()
    run("logout", env={"PIER_API_KEY": None})
    assert not any(p.startswith("DELETE") for p in api.paths())
    assert not credentials_path().exists()


def test_logout_works_when_the_server_is_down(run):
    credentials_save(api_url="http://127.0.0.1:9", token="pier_x", email="a@example.com")
    result = run("logout", env={"PIER_API_KEY": None, "PIER_API_URL": None}, transport=None)
    assert result.exit_code == 0, result.output
    assert not credentials_path().exists()
