"""PIER_ADDONS_POSTGRESQL_SERVER: add-ons as a database + role on a real PostgreSQL server."""

import psycopg
import pytest

from api.models import Addon
from api.selectors import config_current
from api.services import addon_backups, addons

pytestmark = pytest.mark.django_db(transaction=True)

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def server(settings, platform_label):
    try:
        psycopg.connect(ADMIN, connect_timeout=3).close()
    except psycopg.Error as e:
        pytest.skip(f"no PostgreSQL at 127.0.0.1:5432: {e}")
    settings.PIER_ADDONS_POSTGRESQL_SERVER = ADMIN
    yield ADMIN
    with psycopg.connect(ADMIN, autocommit=True) as conn:  # drop what a failed test left
        for addon in Addon.objects.filter(provider=Addon.Provider.SERVER):
            c = addon.credentials
            conn.execute(f'DROP DATABASE IF EXISTS "{c["database"]}" WITH (FORCE)')
            conn.execute(f'DROP ROLE IF EXISTS "{c["user"]}"')


def exists(kind: str, name: str) -> bool:
    table, column = {"role": ("pg_roles", "rolname"), "db": ("pg_database", "datname")}[kind]
    with psycopg.connect(ADMIN) as conn:
        return conn.execute(f"SELECT 1 FROM {table} WHERE {column} = %s", (name,)).fetchone() \
            is not None


def password_hash(role: str) -> str | None:
    with psycopg.connect(ADMIN) as conn:
        return conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s",
                            (role,)).fetchone()[0]


def test_database_and_role_on_the_server(server, make_app, user):
    app = make_app("srvapp")
    addon = addons.addon_create(app=app, user=user, service="postgresql")
    assert addon.provider == Addon.Provider.SERVER
    c = addon.credentials
    assert c["user"].startswith("pier_") and c["database"].startswith("pier_")
    url = config_current(app=app).values["DATABASE_URL"]
    assert "@127.0.0.1:5432/" in url
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE t (v int); INSERT INTO t VALUES (7)")
    version, size, connections, tables = addons.addon_info(addon=addon)
    assert version.startswith("15") and int(tables) == 1 and int(size) > 0

    backup = addon_backups.backup_run(backup_id=addon_backups.backup_create(addon=addon).pk)
    assert backup.status == "succeeded", backup.error
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO t VALUES (8)")
    addon_backups.backup_restore(app=app, addon=addon, label="b001", confirm="srvapp")
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT array_agg(v) FROM t").fetchone()[0] == [7]

    # This server trusts local connections (any password works), so what is checked here is
    # the role's stored password; the container provider's test proves the refusal.
    before = password_hash(c["user"])
    addons.addon_credentials_rotate(addon=addon, user=user)
    assert password_hash(c["user"]) not in (before, None)
    psycopg.connect(config_current(app=app).values["DATABASE_URL"]).close()

    addons.addon_destroy(app=app, user=user, name=addon.name, confirm="srvapp")
    assert not exists("db", c["database"]) and not exists("role", c["user"])
