"""The managed-server provider: each PostgreSQL add-on is a database and a role on the
operator's server (``PIER_ADDONS_POSTGRESQL_SERVER``, an admin DSN), not a container.

Roles and databases are named ``pier_u<hex>`` / ``pier_d<hex>``: Pier only ever drops
what carries that prefix. Backups run the host's ``pg_dump``/``pg_restore`` with the
add-on's own credentials.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from addons.errors import ProviderError
from addons.services import services
from addons.services.base import token
from addons.services.postgresql import INFO_SQL

PREFIX = "pier_"


class ServerProvider:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    def credentials(self, service) -> dict[str, str]:
        server = conninfo_to_dict(self.dsn)
        return {"user": token(f"{PREFIX}u"), "database": token(f"{PREFIX}d"),
                "password": token(nbytes=24), "host": server.get("host") or "127.0.0.1",
                "port": str(server.get("port") or 5432)}

    def address(self, addon) -> tuple[str, int]:
        return addon.credentials["host"], int(addon.credentials["port"])

    def url(self, addon) -> str:
        host, port = self.address(addon)
        return services()[addon.service].url(credentials=addon.credentials, host=host, port=port)

    def _admin(self, statements) -> None:
        try:
            with psycopg.connect(self.dsn, autocommit=True) as conn:
                for statement in statements:
                    conn.execute(statement)
        except psycopg.Error as e:
            raise ProviderError(f"PostgreSQL server: {e}") from e

    @staticmethod
    def _names(addon):
        c = addon.credentials
        if not (c["user"].startswith(PREFIX) and c["database"].startswith(PREFIX)):
            raise ProviderError(f"{addon.name}: refusing to touch a role or database that "
                                f"Pier did not create")
        return sql.Identifier(c["user"]), sql.Identifier(c["database"]), c

    def provision(self, addon) -> None:
        user, database, c = self._names(addon)
        self._admin([
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(user, sql.Literal(c["password"])),
            sql.SQL("CREATE DATABASE {} OWNER {}").format(database, user),
            sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(database),
        ])

    def rotate(self, addon) -> None:
        user, _, c = self._names(addon)
        self._admin([
            sql.SQL("ALTER ROLE {} PASSWORD {}").format(user, sql.Literal(c["password"])),
            sql.SQL("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE usename = {}").format(sql.Literal(c["user"])),
        ])

    def destroy(self, addon) -> None:
        user, database, _ = self._names(addon)
        self._admin([
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(database),
            sql.SQL("DROP ROLE IF EXISTS {}").format(user),
        ])

    def _tool(self, argv: list[str]) -> None:
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=3600)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise ProviderError(f"{argv[0]}: {e}") from e
        if done.returncode != 0:
            raise ProviderError(f"{argv[0]} exited with {done.returncode}: "
                                f"{done.stderr.strip()[-500:]}")

    def dump(self, addon, path: Path) -> None:
        self._tool(["pg_dump", "-Fc", "--no-owner", "-f", str(path), "-d", self.url(addon)])

    def restore(self, addon, path: Path) -> None:
        self._tool(["pg_restore", "--clean", "--if-exists", "--no-owner",
                    "--single-transaction", "-d", self.url(addon), str(path)])

    def query_info(self, addon) -> list[str]:
        try:
            with psycopg.connect(self.url(addon)) as conn:
                row = conn.execute(INFO_SQL).fetchone()
        except psycopg.Error as e:
            raise ProviderError(f"{addon.name}: {e}") from e
        return [str(v) for v in row]
