"""`pdbi db init`'s roles: a loader that owns the schemas and a reporting role that reads.

Roles are cluster-wide and the 127.0.0.1 server is shared, so each test names its own roles
(unique per test database) and drops them after its database is gone.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from tasks.resources import postgres
from tests.conftest import SERVER_URL, clear_caches


@pytest.fixture(params=["embedded", "server"])
def roles_database(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, str, str]]:
    """A fresh database with its own loader and reporting role names; yields (admin url,
    loader, reporting). The roles are dropped once the database is."""
    admin_url = (
        request.getfixturevalue("embedded_server") if request.param == "embedded" else SERVER_URL
    )
    try:
        psycopg.connect(admin_url, connect_timeout=3).close()
    except psycopg.OperationalError:
        pytest.skip(f"no PostgreSQL server at {admin_url}")
    suffix = uuid.uuid4().hex[:8]
    name, loader, reporting = f"pdbi_roles_{suffix}", f"pdbi_ld_{suffix}", f"pdbi_rp_{suffix}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    monkeypatch.setenv("PDBI_DATABASE_URL", psycopg.conninfo.make_conninfo(admin_url, dbname=name))
    monkeypatch.setenv("PDBI_LOADER_ROLE", loader)
    monkeypatch.setenv("PDBI_REPORTING_ROLE", reporting)
    clear_caches()
    yield admin_url, loader, reporting
    clear_caches()
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
        )
        for role in (loader, reporting):
            admin.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(role)))


def init() -> list[str]:
    with postgres.connect() as conn:
        postgres.apply_migrations(conn)
        return postgres.ensure_roles(conn)


def test_db_init_creates_both_roles_once_and_the_loader_owns_the_schemas(
    roles_database: tuple[str, str, str],
) -> None:
    _, loader, reporting = roles_database
    assert sorted(init()) == sorted([loader, reporting])
    assert init() == []  # idempotent: a second init creates nothing and fails on nothing
    with postgres.connect() as conn:
        owners = dict(
            postgres.fetch_all(
                conn,
                "select nspname, pg_get_userbyid(nspowner) from pg_namespace"
                " where nspname in ('stage', 'dw', 'meta')",
            )
        )
    assert owners == {"stage": loader, "dw": loader, "meta": loader}


WRITES = [
    "insert into dw.dim_client (client_key, client_name) values (99, 'x')",
    "update dw.dim_student set city = 'x'",
    "delete from meta.pipeline_runs",
    "truncate dw.fct_session",
    "create table dw.intruder (id int)",
    "drop view dw.student_flat",
    "insert into stage.students (source_file, source_row, load_id) values ('x', 1, 'x')",
]


@pytest.mark.parametrize("statement", WRITES)
def test_the_reporting_role_cannot_write(
    roles_database: tuple[str, str, str], statement: str
) -> None:
    init()
    with postgres.connect_reporting() as conn:
        assert conn.execute("select current_user").fetchone() == (roles_database[2],)
        conn.rollback()
        conn.read_only = False  # not even a read-write transaction may write
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)


def test_the_reporting_role_reads_the_warehouse_views_and_meta(
    roles_database: tuple[str, str, str],
) -> None:
    init()
    with postgres.connect_reporting() as conn:
        for view in ("dw.student_flat", "dw.student_current", "meta.pipeline_runs"):
            conn.execute(sql.SQL("select count(*) from {}").format(sql.SQL(view)))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select count(*) from stage.students")


def test_the_dashboard_reads_as_the_reporting_role(
    roles_database: tuple[str, str, str],
) -> None:
    """panel_app/warehouse.py's queries run with the reporting role's rights: a statement
    that writes, sent through its reader, is refused."""
    from panel_app import warehouse

    init()
    frames = warehouse.read_queries({"runs": ("dashboard/pipeline_runs.sql", {"limit": 5})})
    assert list(frames["runs"].columns)[:2] == ["run_id", "run_date"]
    with postgres.connect_reporting() as conn:
        user = conn.execute("select current_user").fetchone()
    assert user == (roles_database[2],)
