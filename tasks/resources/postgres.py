"""PostgreSQL: the only module that opens database connections and reads sql/ files.

With no database URL configured, pdbi starts an embedded, real PostgreSQL (pgserver) in the
project's data folder and reuses it across commands, so a laptop without a server still gets a
working warehouse.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from tasks.errors import ConfigError
from tasks.settings import get_settings, mask_url

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"


@lru_cache(maxsize=1)
def database_url() -> str:
    """The configured URL, or the embedded server's (started on first use, then reused)."""
    settings = get_settings()
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    return _embedded_url(settings.data_dir.resolve() / "pgdata")


def _embedded_url(pgdata: Path) -> str:
    import pgserver  # imported lazily: only the embedded path needs it

    pgdata.mkdir(parents=True, exist_ok=True)
    created = not (pgdata / "PG_VERSION").exists()
    # cleanup_mode=None leaves the server running for the next command, which reuses it.
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    server.ensure_postgres_running()  # the handle is kept per process: the server may have stopped
    url = server.get_uri()
    if _minimal_wal(url) and created:  # no one else has connected yet: restart at once
        pg_ctl(["-w", "restart", "-m", "fast"], pgdata)
        server.ensure_postgres_running()
    return url


def _minimal_wal(url: str) -> bool:
    """Configure the embedded server for minimal WAL (sql/embedded/wal_level.sql says why);
    True when it must restart to take it. A server created by an earlier pdbi takes it at its
    next start: no running command loses its connections for it."""
    with psycopg.connect(url, autocommit=True) as conn:
        running, configured = conn.execute(read_sql("embedded/wal_settings.sql")).fetchone()
        if running == "minimal":
            return False
        if configured != "minimal":
            conn.execute(read_sql("embedded/max_wal_senders.sql"))
            conn.execute(read_sql("embedded/wal_level.sql"))
    return True


def pg_ctl(args: list[str], pgdata: Path) -> None:
    """pgserver's pg_ctl on the embedded server's folder (stop, restart), as its owner."""
    import pgserver

    # as root, pgserver runs the server as its own system user; pg_ctl must run as that user too
    user = "pgserver" if os.geteuid() == 0 else None
    # cwd: that user may not be allowed into the caller's working directory
    pgserver.pg_ctl(args, pgdata=pgdata, user=user, cwd=pgdata)


def stop_embedded(pgdata: Path | None = None) -> bool:
    """Stop the embedded server left running for reuse; False when none was running."""
    pgdata = (pgdata or get_settings().data_dir.resolve() / "pgdata").resolve()
    if not (pgdata / "postmaster.pid").exists():
        return False
    pg_ctl(["-w", "stop", "-m", "fast"], pgdata)
    database_url.cache_clear()
    return True


def describe_database() -> str:
    """One line for humans: which database pdbi uses, password hidden."""
    kind = "configured" if get_settings().database_url is not None else "embedded (pgserver)"
    return f"{kind} PostgreSQL at {mask_url(database_url())}"


@contextmanager
def connect(
    autocommit: bool = False, application_name: str = "pdbi", wait: bool = True
) -> Iterator[psycopg.Connection]:
    """A connection that commits on success and rolls back on error.

    Connection errors propagate as they are: during a run they are transient and retried.
    application_name shows in pg_stat_activity, so an operator sees which step holds what.
    wait=False tries once (bookkeeping that must not hold a failing run up).
    """
    options = {"autocommit": autocommit, "application_name": application_name}
    if wait:
        conn = _connect_waiting(database_url(), **options)
    else:
        conn = psycopg.connect(database_url(), connect_timeout=5, **options)
    with conn:
        yield conn


def _connect_waiting(url: str, **options: Any) -> psycopg.Connection:
    """Connect, trying again for up to PDBI_DB_CONNECT_WAIT_SECONDS while the server is down
    or starting: a restart or a failover costs a pause, not a failed task. Errors after the
    connection is made (a terminated backend) still fail the task, which Prefect retries."""
    deadline = time.monotonic() + get_settings().db_connect_wait_seconds
    delay = 0.25
    while True:
        try:
            return psycopg.connect(url, connect_timeout=10, **options)
        except psycopg.OperationalError:
            if time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 4.0)


def check_database() -> str:
    """Fail fast, in one sentence, when the database cannot be reached; else describe it."""
    try:
        url = database_url()
        with psycopg.connect(url, connect_timeout=5) as conn:
            conn.execute("select 1")
    except psycopg.OperationalError as exc:
        lines = [line for line in str(exc).strip().splitlines() if line.strip()]
        reason = lines[0].strip() if lines else type(exc).__name__
        raise ConfigError(
            f"PDBI_DATABASE_URL: cannot connect to {mask_url(database_url())} ({reason}); start "
            "that server or fix the URL, or unset PDBI_DATABASE_URL to use the embedded PostgreSQL."
        ) from None
    return describe_database()


def read_sql(relative: str) -> str:
    return (SQL_DIR / relative).read_text(encoding="utf-8")


def run_sql_file(
    conn: psycopg.Connection, relative: str, params: dict[str, Any] | None = None
) -> int:
    """Run one file of sql/ (one or more statements); returns the last statement's rowcount."""
    with conn.cursor() as cur:
        cur.execute(read_sql(relative), params or None, prepare=False)
        return cur.rowcount


def fetch_all(
    conn: psycopg.Connection, query: str | sql.Composed, params: Any = None
) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(query, params)
        return cur.fetchall()


# --- migrations ---------------------------------------------------------------------------

MIGRATIONS_LOCK = 7_130_001  # advisory lock id: one migrator at a time


def migration_files() -> list[Path]:
    return sorted((SQL_DIR / "migrations").glob("*.sql"))


def apply_migrations(conn: psycopg.Connection) -> list[str]:
    """Apply the migrations not yet recorded, in order, each in its own transaction.

    A migration that was edited after being applied is refused: migrations are append-only.
    """
    conn.execute("select pg_advisory_lock(%s)", (MIGRATIONS_LOCK,))
    try:
        # up to date, nothing here needs more than reading: a nightly login without DDL rights
        if not fetch_all(conn, "select to_regclass('meta.schema_migrations') is not null")[0][0]:
            conn.execute(read_sql("meta/schema_migrations.sql"))
        conn.commit()
        applied = dict(fetch_all(conn, "select version, checksum from meta.schema_migrations"))
        done: list[str] = []
        for path in migration_files():
            text = path.read_text(encoding="utf-8")
            checksum = hashlib.sha256(text.encode()).hexdigest()
            if path.name in applied:
                if applied[path.name] != checksum:
                    raise ConfigError(
                        f"sql/migrations/{path.name} changed after it was applied; migrations are "
                        "never edited: add a new numbered file instead."
                    )
                continue
            try:
                with conn.transaction():
                    conn.execute(text, prepare=False)
                    conn.execute(
                        "insert into meta.schema_migrations (version, checksum) values (%s, %s)",
                        (path.name, checksum),
                    )
            except psycopg.errors.InsufficientPrivilege as exc:
                raise ConfigError(
                    f"sql/migrations/{path.name} is not applied and {_login(conn)} may not apply "
                    f"it ({str(exc).splitlines()[0]}); run `pdbi db init` once as the database's "
                    "owner."
                ) from None
            done.append(path.name)
        conn.commit()
        return done
    finally:
        conn.execute("select pg_advisory_unlock(%s)", (MIGRATIONS_LOCK,))
        conn.commit()


# --- roles ---------------------------------------------------------------------------------

ROLES_LOCK = 7_130_002  # advisory lock id: one role setup at a time in this database


def roles_ready(conn: psycopg.Connection) -> bool:
    """Both roles exist (the grants came with them, from `pdbi db init`)."""
    settings = get_settings()
    names = [settings.loader_role, settings.reporting_role]
    return len(fetch_all(conn, read_sql("roles/existing.sql"), {"names": names})) == 2


def _login(conn: psycopg.Connection) -> str:
    return str(fetch_all(conn, "select current_user")[0][0])


def ensure_roles(conn: psycopg.Connection, attempts: int = 5) -> list[str]:
    """Create the loader and reporting roles when missing and grant what each may do; returns
    the roles created. A GRANT rewrites the catalog rows of every table in the schemas, and a
    concurrent run's TRUNCATE of a stage table rewrites one of them too: PostgreSQL then says
    "tuple concurrently updated", and the setup is simply done again."""
    for attempt in range(1, attempts + 1):
        try:
            return _ensure_roles_once(conn)
        except psycopg.errors.InternalError_ as exc:
            conn.rollback()
            if "concurrently updated" not in str(exc) or attempt == attempts:
                raise
            time.sleep(0.2 * attempt)
    return []


def _ensure_roles_once(conn: psycopg.Connection) -> list[str]:
    """Roles are cluster-wide: another database may create one at the same moment, which is
    fine (it exists, as wanted)."""
    settings = get_settings()
    names = {"loader": settings.loader_role, "reporting": settings.reporting_role}
    identifiers = {key: sql.Identifier(name) for key, name in names.items()}
    created: list[str] = []
    try:
        conn.execute("select pg_advisory_xact_lock(%s)", (ROLES_LOCK,))
        existing = {r for (r,) in fetch_all(conn, read_sql("roles/existing.sql"),
                                            {"names": list(names.values())})}  # fmt: skip
        for key, name in names.items():
            if name in existing:
                continue
            try:
                with conn.transaction():
                    conn.execute(_compose_sql(f"roles/create_{key}.sql", identifiers))
                created.append(name)
            except (psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
                pass  # created by another database's setup in the meantime
        # a managed service's admin (CREATEROLE, owns the database, not superuser) may hand the
        # schemas to the loader only as a member of it: it grants itself the membership
        if not fetch_all(conn, read_sql("roles/is_member.sql"), {"role": names["loader"]})[0][0]:
            conn.execute(_compose_sql("roles/join_loader.sql", identifiers))
        database = fetch_all(conn, "select current_database()")[0][0]
        grants = _compose_sql(
            "roles/grants.sql", {**identifiers, "database": sql.Identifier(database)}
        )
        conn.execute(grants)
        conn.commit()
    except psycopg.errors.InsufficientPrivilege as exc:
        conn.rollback()
        raise ConfigError(
            f"{_login(conn)} cannot set up the roles {names['loader']} and {names['reporting']} "
            f"({str(exc).splitlines()[0]}); run `pdbi db init` once as a login with CREATEROLE "
            "that owns the database (a managed service's admin), or set PDBI_LOADER_ROLE and "
            "PDBI_REPORTING_ROLE to roles that login administers."
        ) from None
    return created


def _compose_sql(relative: str, identifiers: dict[str, sql.Composable]) -> sql.Composed:
    """A sql/ file with identifiers from settings composed in (never values, never data)."""
    return sql.SQL(read_sql(relative)).format(**identifiers)  # type: ignore[arg-type]


@contextmanager
def connect_reporting() -> Iterator[psycopg.Connection]:
    """A read-only connection as the reporting role, for the dashboard and analysts:
    PDBI_REPORTING_URL; else the embedded database entered as that role; else
    PDBI_DATABASE_URL followed by SET ROLE (the login must be a member of the role)."""
    settings = get_settings()
    if settings.reporting_url is not None:
        url, set_role = settings.reporting_url.get_secret_value(), False
    elif settings.database_url is None:
        url = psycopg.conninfo.make_conninfo(database_url(), user=settings.reporting_role)
        set_role = False
    else:
        url, set_role = database_url(), True
    with psycopg.connect(url, connect_timeout=10) as conn:
        if set_role:
            conn.execute(sql.SQL("set role {}").format(sql.Identifier(settings.reporting_role)))
            conn.commit()
        conn.read_only = True
        yield conn


def migration_status(conn: psycopg.Connection) -> list[tuple[str, str | None]]:
    """(file, applied_at or None) for every migration file."""
    exists = fetch_all(conn, "select to_regclass('meta.schema_migrations') is not null")[0][0]
    applied = (
        dict(fetch_all(conn, "select version, applied_at::text from meta.schema_migrations"))
        if exists
        else {}
    )
    return [(p.name, applied.get(p.name)) for p in migration_files()]
