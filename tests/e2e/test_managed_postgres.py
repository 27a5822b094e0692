"""A managed PostgreSQL, as a cloud service hands it over: an admin login that owns its
database and has CREATEROLE, but is not a superuser. `pdbi db init` works as that login; the
nightly run then works as a login that may only read and write rows (no DDL at all).

On the 127.0.0.1 server; every role and the database are this test's own, dropped after.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import psycopg
import pytest
from psycopg import sql
from typer.testing import CliRunner

from flows.cli import app
from flows.daily import daily_pipeline
from tasks.generator.day import generate
from tasks.resources import postgres
from tasks.resources.lake import get_lake
from tests.conftest import IN_CI, SERVER_URL, clear_caches

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_api")]
DAY = date(2017, 11, 16)
# what a DBA grants an application login: rows, not schemas
NIGHTLY_GRANTS = """
grant connect, temporary on database {database} to {nightly};
grant usage on schema stage, dw, meta to {nightly};
grant select, insert, update, delete, truncate on all tables in schema stage, dw, meta
    to {nightly};
grant usage, select, update on all sequences in schema stage, dw, meta to {nightly};
grant execute on all functions in schema meta to {nightly};
"""


@dataclass
class Managed:
    admin: str  # role names
    nightly: str
    loader: str
    reporting: str
    database: str

    def url(self, user: str) -> str:
        return psycopg.conninfo.make_conninfo(SERVER_URL, user=user, dbname=self.database)


@pytest.fixture
def managed(monkeypatch: pytest.MonkeyPatch) -> Iterator[Managed]:
    try:
        psycopg.connect(SERVER_URL, connect_timeout=3).close()
    except psycopg.OperationalError:
        (pytest.fail if IN_CI else pytest.skip)(f"no PostgreSQL server at {SERVER_URL}")
    s = uuid.uuid4().hex[:8]
    m = Managed(f"pdbi_admin_{s}", f"pdbi_night_{s}", f"pdbi_ld_{s}", f"pdbi_rp_{s}",
                f"pdbi_managed_{s}")  # fmt: skip
    ident = sql.Identifier
    with psycopg.connect(SERVER_URL, autocommit=True) as su:
        su.execute(sql.SQL("create role {} login createrole").format(ident(m.admin)))
        su.execute(sql.SQL("create database {} owner {}").format(ident(m.database), ident(m.admin)))
    monkeypatch.setenv("PDBI_LOADER_ROLE", m.loader)
    monkeypatch.setenv("PDBI_REPORTING_ROLE", m.reporting)
    try:
        yield m
    finally:
        clear_caches()
        with psycopg.connect(SERVER_URL, autocommit=True) as su:
            su.execute(sql.SQL("drop database if exists {} with (force)").format(ident(m.database)))
            for role in (m.nightly, m.reporting, m.loader, m.admin):
                su.execute(sql.SQL("drop role if exists {}").format(ident(role)))


def use(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("PDBI_DATABASE_URL", url)
    clear_caches()


def test_db_init_as_a_managed_admin_then_a_nightly_run_without_ddl(
    managed: Managed, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = managed
    with psycopg.connect(m.url(m.admin)) as conn:
        assert conn.execute(
            "select rolsuper from pg_roles where rolname = current_user"
        ).fetchone() == (False,)  # noqa: E501

    use(monkeypatch, m.url(m.admin))
    result = CliRunner().invoke(app, ["db", "init"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert f"Roles: {m.loader} owns the schemas, {m.reporting} reads" in result.output
    with postgres.connect() as conn:
        owners = {n for (n,) in conn.execute(
            "select pg_get_userbyid(nspowner) from pg_namespace"
            " where nspname in ('stage', 'dw', 'meta')")}  # fmt: skip
        assert owners == {m.loader}
        # the admin creates the nightly login and grants it rows, not schemas
        conn.execute(sql.SQL("create role {} login").format(sql.Identifier(m.nightly)))
        conn.execute(sql.SQL(NIGHTLY_GRANTS).format(
            database=sql.Identifier(m.database), nightly=sql.Identifier(m.nightly)))  # fmt: skip
    assert CliRunner().invoke(app, ["db", "init"]).exit_code == 0  # a second init is a no-op

    use(monkeypatch, m.url(m.nightly))
    with postgres.connect() as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("create table meta.intruder (id int)")  # the nightly login has no DDL
    generate(get_lake(), scale=0.002, seed=5, run_date=DAY)

    summary = daily_pipeline(DAY)

    assert summary.outputs and sum(c.rows_loaded for c in summary.staged) > 0
    with postgres.connect() as conn:
        assert conn.execute("select state from meta.pipeline_runs").fetchall() == [("Completed",)]
        assert conn.execute("select count(*) from dw.student_current").fetchone()[0] > 0
