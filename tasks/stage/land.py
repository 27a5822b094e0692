"""The landing table: where a file's rows wait, inside the load's transaction, for the suite.

One UNLOGGED table per source (`stage.landing_<source>`, migration 0017: the source's stage
columns as text and `source_row`): PostgreSQL writes no WAL for it, and its pages stay in shared
buffers for the suite's scans, the split and the move (a temporary table lives in the session's
8 MB of local buffers and went back and forth to disk on every scan: measured, about twice as
slow). It is emptied for each file and before the load commits, so outside a load it is always
empty, and no other session ever sees rows in it (they are never committed). GX reads it through
the load's own connection. A file's landable rows are COPYed in as CSV that pyarrow renders
block by block (no Python object per row), the rows the critical expectations reject are found
by one SELECT that PostgreSQL runs with parallel workers (`sql/stage/split.sql`) and taken out by
their ctid, and the rest move into stage.<source> with one INSERT ... SELECT
(`sql/stage/move.sql`), lineage added there.

Beside the COPY, each landed row's record (its JSON text) is spilled to an Arrow file in a
scratch folder, so that the few rejected rows can be quarantined as the file held them without
holding the file in memory or reading the lake twice.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from queue import Queue
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from psycopg import sql
from psycopg.copy import Copy, LibpqWriter, Writer

from tasks.entities import Entity
from tasks.quality.split import Rule, failed_labels, split_clauses
from tasks.resources import postgres
from tasks.stage.parse import RECORD, ROW

COPY_ROWS = 100_000  # rows per CSV block sent to COPY
BLOCKS_IN_FLIGHT = 2  # CSV blocks rendered ahead of the one being sent
_CSV = pa_csv.WriteOptions(include_header=False)  # nulls unquoted, strings quoted: NULL vs ''


def landing_name(entity: Entity) -> str:
    return f"landing_{entity.name}"


def _landing(entity: Entity) -> sql.Identifier:
    return sql.Identifier("stage", landing_name(entity))


def _columns(entity: Entity) -> sql.Composable:
    return sql.SQL(", ").join(map(sql.Identifier, entity.columns.values()))


def empty_landing(conn: psycopg.Connection, entity: Entity) -> sql.Identifier:
    """Empty the source's landing table (in this transaction); returns its name."""
    conn.execute(sql.SQL("truncate {}").format(_landing(entity)))
    return _landing(entity)


@contextmanager
def copy_into_landing(conn: psycopg.Connection, entity: Entity) -> Iterator[Copy]:
    """A COPY into the source's landing table; `write_batch` sends a batch's columns."""
    statement = sql.SQL("copy {} ({}, source_row) from stdin (format csv)").format(
        _landing(entity), _columns(entity)
    )
    with conn.cursor() as cur, cur.copy(statement, writer=AheadWriter(cur)) as copy:
        yield copy


class AheadWriter(Writer):
    """Sends COPY data from a thread while the caller renders the next block, at most
    BLOCKS_IN_FLIGHT blocks ahead. psycopg's QueuedLibpqWriter queues up to 1,024 buffers of
    128 kB, so up to 128 MB could wait, more of it the longer the file (measured, landing one
    then four million sessions: the peak grew by 114 MB with it, by 90 MB with this writer)."""

    def __init__(self, cursor: psycopg.Cursor) -> None:
        self._sender = LibpqWriter(cursor)
        self._blocks: Queue[Any] = Queue(maxsize=BLOCKS_IN_FLIGHT)
        self._failed: BaseException | None = None
        self._thread = threading.Thread(target=self._send, name="pdbi-copy", daemon=True)
        self._thread.start()

    def _send(self) -> None:
        while (block := self._blocks.get()) is not None:
            if self._failed is None:
                try:
                    self._sender.write(block)
                except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread
                    self._failed = exc

    def write(self, data: Any) -> None:
        if self._failed is not None:
            raise self._failed
        self._blocks.put(data)

    def finish(self, exc: BaseException | None = None) -> None:
        self._blocks.put(None)
        self._thread.join()
        if self._failed is not None:  # as psycopg's own queued writer does
            raise self._failed
        self._sender.finish(exc)


def write_batch(copy: Copy, entity: Entity, batch: pa.RecordBatch) -> None:
    table = pa.Table.from_batches([batch]).select([*entity.columns.values(), ROW])
    for offset in range(0, table.num_rows, COPY_ROWS):
        block = io.BytesIO()
        pa_csv.write_csv(table.slice(offset, COPY_ROWS), block, _CSV)
        copy.write(block.getbuffer())


def split_rejects(
    conn: psycopg.Connection, entity: Entity, rules: list[Rule]
) -> list[tuple[int, list[str]]]:
    """Take the rows the critical rules flag out of the landing table: (row, the labels of the
    rules it failed). Found by a SELECT (parallel under `parallel_scans`), removed by ctid."""
    flagged, failed, params = split_clauses(rules)
    landing = _landing(entity)
    find = sql.SQL(postgres.read_sql("stage/split.sql")).format(
        landing=landing, flagged=flagged, failed=failed
    )
    remove = sql.SQL(postgres.read_sql("stage/split_remove.sql")).format(landing=landing)
    with conn.cursor() as cur:
        cur.execute(find, params)
        found = cur.fetchall()
        if found:
            cur.execute(remove, {"tids": [tid for tid, _, _ in found]})
            if cur.rowcount != len(found):
                raise RuntimeError(f"the split found {len(found)} rows but removed {cur.rowcount}")
    labels: dict[int, list[str]] = {}
    for _, _, mask in found:
        if mask not in labels:
            labels[mask] = failed_labels(rules, mask)
    return [(row, labels[mask]) for _, row, mask in found]  # one list per mask, shared


@contextmanager
def parallel_scans(conn: psycopg.Connection) -> Iterator[None]:
    """Parallel workers for the scans of the landing table inside: GX's queries and the split
    (sql/stage/set_scan_costs.sql says why); the planner's costs as they were afterwards.
    Measured on a million follows: 0.46 s for the split against 0.92 s as one DELETE ...
    RETURNING; GX's validation of 200,000 students 1.17 to 1.23 s against 1.33 to 1.61 s."""
    before = postgres.fetch_all(conn, postgres.read_sql("stage/scan_costs.sql"))[0]
    setting = postgres.read_sql("stage/set_scan_costs.sql")
    conn.execute(setting, {"setup": "0", "per_tuple": "0"})
    try:
        yield
    finally:
        conn.execute(setting, {"setup": before[0], "per_tuple": before[1]})


def move_to_stage(conn: psycopg.Connection, entity: Entity, source: str, load_id: str) -> int:
    """INSERT ... SELECT the landing rows left into stage.<source>; returns the rows moved."""
    statement = sql.SQL(postgres.read_sql("stage/move.sql")).format(
        stage_table=sql.Identifier("stage", entity.name),
        landing=_landing(entity),
        columns=_columns(entity),
    )
    with conn.cursor() as cur:
        cur.execute(statement, {"source_file": source, "load_id": load_id})
        return cur.rowcount


class Spill:
    """The landed rows' records, appended batch by batch to an Arrow file, read back by row.

    Compressed (zstd): JSON text shrinks about fivefold, and writing the fifth took less time
    than writing it all (measured on a million sessions: 0.4 s against 1.0 s). Read back one
    batch at a time through a plain file, so memory stays bounded by a batch whatever the
    file's size (a memory map kept every page it read resident: measured, the load's peak grew
    by the spill's size, about 100 MB for four million sessions)."""

    SCHEMA = pa.schema([(ROW, pa.int64()), (RECORD, pa.string())])
    OPTIONS = pa.ipc.IpcWriteOptions(compression="zstd")

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: pa.ipc.RecordBatchFileWriter | None = pa.ipc.new_file(
            str(path), self.SCHEMA, options=self.OPTIONS
        )

    def write(self, batch: pa.RecordBatch) -> None:
        assert self._writer is not None
        part = pa.RecordBatch.from_arrays(
            [batch.column(ROW), batch.column(RECORD)], schema=self.SCHEMA
        )
        self._writer.write_batch(part)

    def records(self, rows: list[int]) -> dict[int, str | None]:
        """The records of these rows (every one of them was spilled)."""
        self.close()
        if not rows:
            return {}
        wanted = pa.array(sorted(set(rows)), pa.int64())
        found: dict[int, str | None] = {}
        with pa.OSFile(str(self.path)) as source:
            reader = pa.ipc.open_file(source)
            for index in range(reader.num_record_batches):
                batch = reader.get_batch(index)
                hit = pc.is_in(batch.column(ROW), value_set=wanted)
                if pc.any(hit).as_py():
                    part = batch.filter(hit)
                    texts = part.column(RECORD).to_pylist()
                    found.update(zip(part.column(ROW).to_pylist(), texts, strict=True))
        return {row: found[row] for row in wanted.to_pylist()}

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
