"""addons:create and pg:backups:restore run on the worker: the API answers 202 at once, and
a failure leaves the add-on with its error for everyone to see (here the tasks run eagerly,
as they commit; tests/e2e/test_addons.py has the platform's own worker run them)."""

import pytest

from api.models import Addon
from api.selectors import config_current
from api.services import addon_backups, addons

pytestmark = pytest.mark.django_db(transaction=True)


def psql(query: str) -> str:
    return f'psql "$DATABASE_URL?sslmode=require" -v ON_ERROR_STOP=1 -tAc "{query}"'


def test_a_failed_provisioning_is_kept_with_its_error(make_app, api, settings):
    app = make_app("wkfail")
    # A managed server that is not there: provisioning fails on the worker.
    settings.PIER_ADDONS_POSTGRESQL_SERVER = "postgresql://pier@127.0.0.1:1/postgres"
    answer = api.post("/api/apps/wkfail/addons", {"service": "postgresql"}, format="json")
    assert answer.status_code == 202, answer.content
    addon = api.get(f"/api/addons/{answer.json()['name']}").json()
    assert addon["state"] == "failed"
    assert addon["last_error"].startswith(f"could not provision {addon['name']}: ")
    assert "127.0.0.1" in addon["last_error"]
    listed = api.get("/api/apps/wkfail/addons").json()
    assert [(r["addon"]["state"], r["config_var"]) for r in listed] == [("failed",
                                                                         "DATABASE_URL")]
    assert "DATABASE_URL" not in config_current(app=app).values
    refused = api.post("/api/apps/wkfail/pg/credentials")
    assert refused.status_code == 409 and "is failed" in refused.json()["message"]

    gone = api.delete(f"/api/apps/wkfail/addons/{addon['name']}?confirm=wkfail")
    assert gone.status_code == 204, gone.content
    assert Addon.objects.get(name=addon["name"]).state == Addon.State.DESTROYED
    assert not Addon.objects.get(name=addon["name"]).backups.exists()  # it had no data


def test_a_failed_restore_keeps_the_data_and_says_why(make_app, run_in, user, api):
    app = make_app("wkrestore")
    addon = addons.addon_create(app=app, user=user, service="postgresql")
    assert addon.state == Addon.State.AVAILABLE
    assert run_in(app, psql("CREATE TABLE t (v int); INSERT INTO t VALUES (1)"))[0] == 0
    backup = addon_backups.backup_run(backup_id=addon_backups.backup_create(addon=addon).pk)
    addon_backups.backup_path(backup).write_bytes(b"PGDMP not really a dump")

    answer = api.post("/api/apps/wkrestore/pg/backups/b001/restore", {"confirm": "wkrestore"},
                      format="json")
    assert answer.status_code == 202, answer.content
    addon.refresh_from_db()
    assert addon.state == Addon.State.AVAILABLE
    assert addon.last_error.startswith(f"restoring b001 into {addon.name} failed: ")
    assert run_in(app, psql("SELECT count(*) FROM t"))[1].strip() == "1"
    shown = api.get(f"/api/addons/{addon.name}").json()
    assert shown["last_error"] == addon.last_error


def test_restore_refused_while_one_runs(make_app, user, api):
    app = make_app("wkbusy")
    addon = addons.addon_create(app=app, user=user, service="postgresql")
    addon_backups.backup_run(backup_id=addon_backups.backup_create(addon=addon).pk)
    Addon.objects.filter(pk=addon.pk).update(state=Addon.State.RESTORING)
    answer = api.post("/api/apps/wkbusy/pg/backups/b001/restore", {"confirm": "wkbusy"},
                      format="json")
    assert answer.status_code == 409 and "is restoring" in answer.json()["message"]
    refused = api.delete(f"/api/apps/wkbusy/addons/{addon.name}?confirm=wkbusy")
    assert refused.status_code == 409 and "restoring a backup" in refused.json()["message"]
