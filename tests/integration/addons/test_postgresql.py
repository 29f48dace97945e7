"""A PostgreSQL add-on for real: its container, TLS, network isolation, data kept, rotation."""

import os
import signal

import pytest

from addons.container import desired
from api.errors import Conflict, Invalid
from api.models import Addon, App
from api.selectors import config_current
from api.services import addons

pytestmark = pytest.mark.django_db(transaction=True)


def psql(query: str) -> str:
    return f'psql "$DATABASE_URL?sslmode=require" -v ON_ERROR_STOP=1 -tAc "{query}"'


def test_create_attach_query_over_tls(make_app, run_in, user, addons_engine):
    app = make_app("pgapp")
    addon = addons.addon_create(app=app, user=user, service="postgresql", plan="standard")
    assert addon.state == Addon.State.AVAILABLE
    assert addons_engine.running(desired(addon))
    limits = addons_engine.client.api.inspect_container(desired(addon).resource)["HostConfig"]
    assert (limits["Memory"], limits["ShmSize"]) == (1024 << 20, 256 << 20)  # by its plan
    url = config_current(app=app).values["DATABASE_URL"]
    assert url.startswith("postgres://") and f"@{addon.name}:5432/" in url
    assert app.releases.first().description == f"Attach {addon.name} (DATABASE_URL)"

    code, out = run_in(app, psql("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"))
    assert (code, out.strip()) == (0, "t")


def test_other_app_cannot_connect(make_app, run_in, user):
    app = make_app("pgowner")
    other = make_app("pgother")
    addon = addons.addon_create(app=app, user=user, service="postgresql")
    url = config_current(app=app).values["DATABASE_URL"]
    # The other app knows the URL (leaked, say) but is not on the add-on's network.
    code, out = run_in(other, f'psql "{url}" -tAc "SELECT 1"', timeout=30)
    assert code != 0
    assert addon.name in out or "could not" in out


def test_data_survives_a_container_restart_and_removal(make_app, run_in, user, addons_engine):
    app = make_app("pgkeep")
    addon = addons.addon_create(app=app, user=user, service="postgresql")
    assert run_in(app, psql("CREATE TABLE t (v text); INSERT INTO t VALUES ('kept')"))[0] == 0
    target = desired(addon)
    # PostgreSQL dies (SIGKILL from outside): Docker's restart policy brings it back.
    pid = addons_engine.client.api.inspect_container(target.resource)["State"]["Pid"]
    os.kill(pid, signal.SIGKILL)
    addons_engine.wait_until(target, ["pg_isready", "-h", "/var/run/postgresql"], 60)
    assert run_in(app, psql("SELECT v FROM t"))[1].strip() == "kept"
    # The container lost altogether: the runtime's pass makes it again, on the same volume.
    addons_engine.client.api.remove_container(target.resource, force=True)
    assert addons_engine.converge([target]) == []
    addons_engine.wait_until(target, ["pg_isready", "-h", "/var/run/postgresql"], 60)
    assert run_in(app, psql("SELECT v FROM t"))[1].strip() == "kept"


def test_rotate_credentials(make_app, run_in, user):
    app = make_app("pgrotate")
    addon = addons.addon_create(app=app, user=user, service="postgresql")
    old_url = config_current(app=app).values["DATABASE_URL"]
    addons.addon_credentials_rotate(addon=addon, user=user)
    new_url = config_current(app=app).values["DATABASE_URL"]
    assert new_url != old_url
    assert "Rotate the credentials" in app.releases.first().description
    code, out = run_in(app, f'psql "{old_url}?sslmode=require" -tAc "SELECT 1"')
    assert code != 0 and "password authentication failed" in out
    assert run_in(app, psql("SELECT 1"))[1].strip() == "1"


def test_attach_to_second_app_and_detach(make_app, run_in, user):
    app = make_app("pgfirst")
    reporting = make_app("pgreport")
    addon = addons.addon_create(app=app, user=user, service="postgresql")
    addons.addon_attach(app=reporting, user=user, name=addon.name, alias="REPORTING_DATABASE")
    values = config_current(app=reporting).values
    assert values["REPORTING_DATABASE_URL"] == config_current(app=app).values["DATABASE_URL"]
    code, out = run_in(reporting, 'psql "$REPORTING_DATABASE_URL" -tAc "SELECT 42"')
    assert (code, out.strip()) == (0, "42")

    with pytest.raises(Conflict, match="still attached to pgreport"):
        addons.addon_destroy(app=app, user=user, name=addon.name, confirm="pgfirst")
    addons.addon_detach(app=reporting, user=user, name="REPORTING_DATABASE")
    assert "REPORTING_DATABASE_URL" not in config_current(app=reporting).values
    assert reporting.releases.first().description == (
        f"Detach {addon.name} (REPORTING_DATABASE_URL)")
    code, _ = run_in(reporting, f'psql "{values["REPORTING_DATABASE_URL"]}" -tAc "SELECT 1"',
                     timeout=30)
    assert code != 0  # off the network again


def test_destroy_needs_confirm_and_keeps_a_final_backup(make_app, user, addons_engine):
    app = make_app("pgdestroy")
    addon = addons.addon_create(app=app, user=user, service="postgresql")
    with pytest.raises(Invalid, match="--confirm pgdestroy"):
        addons.addon_destroy(app=app, user=user, name=addon.name, confirm=None)
    assert addons_engine.running(desired(addon))
    addons.addon_destroy(app=app, user=user, name=addon.name, confirm="pgdestroy")
    addon.refresh_from_db()
    assert addon.state == Addon.State.DESTROYED
    assert not addons_engine.running(desired(addon))
    assert "DATABASE_URL" not in config_current(app=app).values
    final = addon.backups.get()
    assert final.status == "succeeded" and final.size > 0


def test_destroying_the_app_destroys_its_addons_keeping_a_final_backup(
        make_app, user, addons_engine):
    from api.services.apps import app_destroy

    app = make_app("pgappgone")
    reporting = make_app("pgappreport")
    addon = addons.addon_create(app=app, user=user, service="postgresql")
    addons.addon_attach(app=reporting, user=user, name=addon.name, alias="REPORTING_DATABASE")
    with pytest.raises(Conflict, match="still attached to pgappreport"):
        app_destroy(user=user, name="pgappgone")
    assert App.objects.filter(name="pgappgone").exists()  # nothing removed
    addons.addon_detach(app=reporting, user=user, name="REPORTING_DATABASE")
    app_destroy(user=user, name="pgappgone")
    addon.refresh_from_db()
    assert addon.state == Addon.State.DESTROYED
    assert not addons_engine.running(desired(addon))
    assert addon.backups.get().status == "succeeded"
