"""pg:backups for real: pg_dump into the data dir, pg_restore, schedules, failures, download."""

import datetime

import pytest
from django.utils import timezone

from addons.container import desired
from addons.services.postgresql import psql as psql_admin
from api.models import AddonBackup
from api.services import addon_backups, addons

pytestmark = pytest.mark.django_db(transaction=True)


def psql(query: str) -> str:
    return f'psql "$DATABASE_URL?sslmode=require" -v ON_ERROR_STOP=1 -tAc "{query}"'


@pytest.fixture
def eager(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True


def test_capture_write_restore_through_the_api(make_app, run_in, user, api, eager):
    app = make_app("bkapp")
    addons.addon_create(app=app, user=user, service="postgresql")
    assert run_in(app, psql("CREATE TABLE t (v int); INSERT INTO t VALUES (1), (2)"))[0] == 0

    captured = api.post("/api/apps/bkapp/pg/backups")
    assert captured.status_code == 201, captured.content
    assert captured.json()["id"] == "b001"
    backup = api.get("/api/apps/bkapp/pg/backups/b001").json()
    assert backup["status"] == "succeeded" and backup["size"] > 0

    assert run_in(app, psql("INSERT INTO t VALUES (3); CREATE TABLE later (x int)"))[0] == 0
    refused = api.post("/api/apps/bkapp/pg/backups/b001/restore", {}, format="json")
    assert refused.status_code == 422 and "--confirm bkapp" in refused.json()["message"]
    restored = api.post("/api/apps/bkapp/pg/backups/b001/restore", {"confirm": "bkapp"},
                        format="json")
    assert restored.status_code == 202, restored.content
    assert api.get(f"/api/addons/{restored.json()['addon']}").json()["state"] == "available"
    assert run_in(app, psql("SELECT string_agg(v::text, ',' ORDER BY v) FROM t"))[1].strip() \
        == "1,2"

    download = api.get("/api/apps/bkapp/pg/backups/b001/download")
    assert download.status_code == 200
    assert b"".join(download.streaming_content).startswith(b"PGDMP")  # custom format
    listed = api.get("/api/apps/bkapp/pg/backups").json()
    assert [b["id"] for b in listed["backups"]] == ["b001"]


def test_a_failed_backup_shows_its_error(make_app, user, addons_engine):
    app = make_app("bkfail")
    addon = addons.addon_create(app=app, user=user, service="postgresql")
    addons_engine.client.api.remove_container(desired(addon).resource, force=True)
    backup = addon_backups.backup_run(backup_id=addon_backups.backup_create(addon=addon).pk)
    assert backup.status == AddonBackup.Status.FAILED
    assert desired(addon).resource in backup.error or "No such container" in backup.error
    assert not addon_backups.backup_path(backup).exists()


def test_a_dump_failing_in_the_add_on_is_a_failed_backup_with_its_message(make_app, user,
                                                                           addons_engine):
    """pg_dump's exit status survives the pipe that batches its output."""
    app = make_app("bkdrop")
    addon = addons.addon_create(app=app, user=user, service="postgresql")
    database = addon.credentials["database"]
    code, out = addons_engine.exec(desired(addon), psql_admin(f"DROP DATABASE {database}"))
    assert code == 0, out
    backup = addon_backups.backup_run(backup_id=addon_backups.backup_create(addon=addon).pk)
    assert backup.status == AddonBackup.Status.FAILED
    assert f'database "{database}" does not exist' in backup.error
    assert not addon_backups.backup_path(backup).exists()


def test_schedule_captures_daily_and_keeps_the_last_n(make_app, user, settings, eager):
    settings.PIER_ADDONS_BACKUP_RETAIN = 1
    app = make_app("bksched")
    addon = addons.addon_create(app=app, user=user, service="postgresql")
    addon_backups.backup_schedule(addon=addon, at="02:00")
    # Yesterday's 02:00: today's would be after the backups' real created_at before 02:00 UTC.
    day = (timezone.now() - datetime.timedelta(days=1)).replace(hour=2, minute=0, second=30,
                                                                microsecond=0)

    assert addon_backups.backups_scheduled_run(now=day - datetime.timedelta(minutes=1)) == []
    first = addon_backups.backups_scheduled_run(now=day)
    assert len(first) == 1
    assert addon_backups.backups_scheduled_run(now=day) == []  # once a day
    AddonBackup.objects.filter(pk=first[0].pk).update(
        created_at=day - datetime.timedelta(days=1))  # as if it were yesterday's
    second = addon_backups.backups_scheduled_run(now=day)
    assert len(second) == 1
    kept = list(addon.backups.values_list("number", "status"))
    assert kept == [(2, "succeeded")]  # the older one pruned, its file too
    assert not (addon_backups.backup_path(first[0])).exists()


def test_bad_schedule(make_app, user, api):
    app = make_app("bkbad")
    addons.addon_create(app=app, user=user, service="postgresql")
    response = api.put("/api/apps/bkbad/pg/backups/schedule", {"at": "25:00"}, format="json")
    assert response.status_code == 422 and "HH:MM" in response.json()["message"]
