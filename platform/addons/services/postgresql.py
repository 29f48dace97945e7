"""PostgreSQL 15 (Debian's package) with TLS: one database and one role per add-on."""

from __future__ import annotations

from addons.services.base import SAFE, AddonService, Plan, token

SOCKET = "/var/run/postgresql"
# pg:info: version | size in bytes | connections | tables, of the add-on's database.
INFO_SQL = ("SELECT current_setting('server_version'), pg_database_size(current_database()), "
            "(SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()), "
            "(SELECT count(*) FROM pg_stat_user_tables)")


def _sql(credentials: dict[str, str]) -> tuple[str, str, str]:
    user, database, password = (credentials[k] for k in ("user", "database", "password"))
    for value in (user, database, password):
        if not SAFE.match(value):  # they are put into SQL text below
            raise ValueError("add-on credentials must be lowercase letters, digits and _")
    return user, database, password


def psql(*sql: str, database: str = "postgres") -> list[str]:
    """Return a psql command running sql as the superuser over the container's socket."""
    argv = ["psql", "-v", "ON_ERROR_STOP=1", "-qtAX", "-h", SOCKET, "-U", "postgres",
            "-d", database]
    for statement in sql:
        argv += ["-c", statement]
    return argv


class Service(AddonService):
    name = "postgresql"
    attachment = "DATABASE"
    image = "pier/service-postgresql:latest"
    data_path = "/var/lib/postgresql/data"
    port = 5432
    backups = True

    def credentials(self) -> dict[str, str]:
        return {"user": token("u"), "database": token("d"), "password": token(nbytes=24)}

    def command(self, *, credentials: dict[str, str], plan: Plan) -> tuple[str, ...]:
        return ("-c", f"shared_buffers={plan.memory_mb // 4}MB",
                "-c", f"max_connections={max(20, plan.memory_mb // 10)}")

    def url(self, *, credentials: dict[str, str], host: str, port: int) -> str:
        user, database, password = _sql(credentials)
        return f"postgres://{user}:{password}@{host}:{port}/{database}"

    def ready_command(self, *, credentials: dict[str, str]) -> list[str]:
        return psql("SELECT 1")

    def setup_commands(self, *, credentials: dict[str, str]) -> list[list[str]]:
        """Create the role and database once; (re)set the password and drop old sessions."""
        user, database, password = _sql(credentials)
        role = (f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{user}') "
                f"THEN CREATE ROLE {user} LOGIN; END IF; END $$")
        return [
            psql(role, f"ALTER ROLE {user} PASSWORD '{password}'",
                 f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                 f"WHERE usename = '{user}'"),
            # CREATE DATABASE cannot run in a DO block: psql's \gexec runs it when missing.
            ["sh", "-c", 'echo "$1" | psql -v ON_ERROR_STOP=1 -qtAX -h "$2" -U postgres',
             "sh", f"SELECT 'CREATE DATABASE {database} OWNER {user}' WHERE NOT EXISTS "
             f"(SELECT FROM pg_database WHERE datname = '{database}') \\gexec", SOCKET],
            psql(f"REVOKE ALL ON DATABASE {database} FROM PUBLIC"),
        ]

    def client(self, *, credentials: dict[str, str], host: str,
               port: int) -> tuple[list[str], dict[str, str]]:
        user, database, password = _sql(credentials)
        return ["psql"], {"PGHOST": host, "PGPORT": str(port), "PGUSER": user,
                          "PGDATABASE": database, "PGPASSWORD": password,
                          "PGSSLMODE": "require", "HOME": "/tmp"}

    def info_command(self, *, credentials: dict[str, str]) -> list[str]:
        """Return a command printing version|size|connections|tables."""
        _, database, _ = _sql(credentials)
        return psql(INFO_SQL, database=database)

    def dump_command(self, *, credentials: dict[str, str]) -> list[str]:
        """Return a command writing the database in pg_dump's custom format to stdout.

        pg_dump writes 4 kB at a time, and through ``docker exec`` each write wakes the
        shim, dockerd and the worker: 12% slower than pg_dump on the host for a 1 GB
        database (bench/addons.py). dd hands the stream on in 1 MB blocks instead.
        """
        _, database, _ = _sql(credentials)
        return ["bash", "-o", "pipefail", "-c",
                'pg_dump -Fc --no-owner -h "$1" -U postgres "$2" '
                "| dd bs=1M iflag=fullblock status=none", "pg_dump", SOCKET, database]

    def restore_command(self, *, credentials: dict[str, str], path: str) -> list[str]:
        user, database, _ = _sql(credentials)
        return ["pg_restore", "--clean", "--if-exists", "--no-owner", f"--role={user}",
                "--single-transaction", "-h", SOCKET, "-U", "postgres", "-d", database, path]
