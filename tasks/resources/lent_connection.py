"""SQLAlchemy over a psycopg connection that someone else owns: the stage load lends its open
transaction to Great Expectations' SQL engine.

GX's SQL data sources build a SQLAlchemy engine. Given the load's own connection (the engine's
`creator`), GX reads the landing table the load has just filled, uncommitted, inside the load's
transaction: nothing is committed before the suite has spoken, and nothing GX does can end the
transaction, because this dialect turns the engine's commit, rollback and close into no-ops (the
load commits or rolls back itself). The connection string names no host and no password: nothing
of the database's URL reaches GX's configuration, logs or Data Docs.

SQLAlchemy's documented extension points only: a dialect subclass registered by name.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.pool import StaticPool

DRIVER = "pdbi_lent"
URL = f"postgresql+{DRIVER}://"


class LentPsycopgDialect(PGDialect_psycopg):
    """PostgreSQL through psycopg 3, on a connection whose transaction belongs to its lender."""

    driver = DRIVER
    supports_statement_cache = True  # compiles SQL exactly as its parent does

    def do_commit(self, dbapi_connection: Any) -> None:
        """The lender commits."""

    def do_rollback(self, dbapi_connection: Any) -> None:
        """The lender rolls back (SQLAlchemy also calls this when it returns the connection)."""

    def do_close(self, dbapi_connection: Any) -> None:
        """The lender closes."""


registry.register(f"postgresql.{DRIVER}", __name__, "LentPsycopgDialect")


@contextmanager
def lent_to_gx(conn: psycopg.Connection, schema: str) -> Iterator[None]:
    """While GX reads through `conn`: its values bound on the client side, its tables found in
    `schema`; both as they were afterwards.

    Client-side binding (psycopg's ClientCursor) sends GX's values as quoted literals, so
    PostgreSQL folds GX's `NOT IN (...)` lists into constant, hashed arrays: bound on the
    server, a list of 2,000 ids is 2,000 parameters compared one by one on every row (measured:
    3.7 s instead of 0.1 s for 200,000 students). The schema is the search path of the load's
    transaction, the way GX asks a schema to be given (in the connection, not the asset)."""
    factory = conn.cursor_factory
    path = conn.execute("select current_setting('search_path')").fetchone()[0]  # type: ignore[index]
    conn.execute("select set_config('search_path', %s, true)", (schema,))
    conn.cursor_factory = psycopg.ClientCursor
    try:
        yield
    finally:
        conn.cursor_factory = factory
        conn.execute("select set_config('search_path', %s, true)", (path,))


def engine_options(conn: psycopg.Connection) -> dict[str, Any]:
    """`create_engine` keyword arguments for an engine that only ever uses `conn`."""
    return {"creator": lambda: conn, "poolclass": StaticPool, "pool_reset_on_return": None}
