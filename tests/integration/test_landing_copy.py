"""The landing COPY's writer on real PostgreSQL: every row arrives, in order, and an error the
server raises mid-COPY reaches the caller instead of being lost in the sending thread."""

from __future__ import annotations

import psycopg
import pyarrow as pa
import pytest
from psycopg import sql

from tasks.entities import ENTITIES
from tasks.stage import land
from tasks.stage.parse import RECORD, REJECTED, ROW

pytestmark = pytest.mark.integration
ENTITY = ENTITIES["subjects"]


def batch(first: int, rows: int) -> pa.RecordBatch:
    numbers = list(range(first, first + rows))
    columns = {c: pa.array([f"{c}-{n}" for n in numbers]) for c in ENTITY.columns.values()}
    return pa.RecordBatch.from_pydict(
        {ROW: pa.array(numbers, pa.int64()), RECORD: pa.array(["{}"] * rows),
         REJECTED: pa.nulls(rows, pa.list_(pa.string())), **columns}
    )  # fmt: skip


def landed(conn: psycopg.Connection) -> list[tuple]:
    query = sql.SQL("select source_row, {} from {} order by source_row").format(
        sql.Identifier(next(iter(ENTITY.columns.values()))),
        sql.Identifier("stage", land.landing_name(ENTITY)),
    )
    return conn.execute(query).fetchall()


def test_many_blocks_arrive_whole_and_in_order(
    migrated: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(land, "COPY_ROWS", 7)  # many blocks, more than BLOCKS_IN_FLIGHT ahead
    land.empty_landing(migrated, ENTITY)
    with land.copy_into_landing(migrated, ENTITY) as copy:
        for first in (1, 101, 201):
            land.write_batch(copy, ENTITY, batch(first, 100))
    key = next(iter(ENTITY.columns.values()))
    want = [(n, f"{key}-{n}") for first in (1, 101, 201) for n in range(first, first + 100)]
    assert landed(migrated) == want
    migrated.rollback()


def test_an_error_the_server_raises_mid_copy_reaches_the_caller(
    migrated: psycopg.Connection,
) -> None:
    land.empty_landing(migrated, ENTITY)
    with pytest.raises(psycopg.errors.DataError), land.copy_into_landing(migrated, ENTITY) as copy:
        land.write_batch(copy, ENTITY, batch(1, 10))
        copy.write(b'"a","b",not-a-number\n')  # source_row is a bigint
        for first in range(11, 2000, 10):  # the sending thread has failed: writes must not hang
            land.write_batch(copy, ENTITY, batch(first, 10))
    migrated.rollback()
    assert landed(migrated) == []
