"""The real `pier addons` and `pier pg:*` commands against a live API and real containers."""

import pytest

from api.models import App, Build, Config
from api.services.releases import release_create
from tests.integration.cli import conftest as cli_fixtures

pier_server = cli_fixtures.pier_server
owner = cli_fixtures.owner
workdir = cli_fixtures.workdir
pier = cli_fixtures.pier


@pytest.fixture
def cli_app(owner, service_images, platform_label, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True  # pg:backups:capture runs in the request
    app = App.objects.create(name="cliapp", owner=owner)
    build = Build.objects.create(app=app, status=Build.Status.SUCCEEDED,
                                 process_types={"web": "sleep 3600"}, image=service_images)
    release_create(app=app, build=build, config=Config.objects.create(app=app, values={}),
                   description="Deploy", user=owner)
    return app


def test_addons_and_pg_commands(pier, cli_app, workdir):
    created = pier("addons:create", "postgresql", "-a", "cliapp")
    assert created.exit_code == 0, created.output
    name = cli_app.addons.get().name
    assert f"Created {name} (mini) as cliapp (DATABASE_URL)" in created.output

    listed = pier("addons", "-a", "cliapp")
    assert name in listed.output and "DATABASE_URL" in listed.output
    assert "available" in listed.output
    assert "postgresql" in pier("addons:info", name).output

    info = pier("pg:info", "-a", "cliapp")
    assert info.exit_code == 0, info.output
    assert "15." in info.output and "tables" in info.output

    captured = pier("pg:backups:capture", "-a", "cliapp")
    assert captured.exit_code == 0, captured.output
    assert "Backup b001 done" in captured.output
    assert "b001" in pier("pg:backups", "-a", "cliapp").output
    downloaded = pier("pg:backups:download", "b001", "-a", "cliapp", "-o", "latest.dump")
    assert downloaded.exit_code == 0, downloaded.output
    assert (workdir / "latest.dump").read_bytes().startswith(b"PGDMP")
    scheduled = pier("pg:backups:schedule", "--at", "02:00", "-a", "cliapp")
    assert "Daily backups at 02:00 UTC" in scheduled.output

    assert pier("pg:credentials:rotate", "-a", "cliapp").exit_code == 0
    refused = pier("addons:destroy", name, "-a", "cliapp")
    assert refused.exit_code != 0 and "--confirm cliapp" in refused.output
    destroyed = pier("addons:destroy", name, "-a", "cliapp", "--confirm", "cliapp")
    assert destroyed.exit_code == 0, destroyed.output

    releases = pier("releases", "-a", "cliapp").output
    assert f"Attach {name} (DATABASE_URL)" in releases
    assert f"Detach {name} (DATABASE_URL)" in releases


def test_unknown_service(pier, cli_app):
    result = pier("addons:create", "mysql", "-a", "cliapp")
    assert result.exit_code != 0
    assert "unknown add-on service 'mysql': use one of postgresql, redis" in result.output
