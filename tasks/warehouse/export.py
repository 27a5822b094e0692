"""Handing warehouse data to Spark without a JDBC driver: COPY out, Parquet into the lake.

The default path: it needs no driver jar and works with the embedded database, which listens on
a unix socket only. With PDBI_JDBC_JAR set, Spark reads the same query by JDBC instead.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from datetime import date

import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from psycopg import sql

from tasks.resources import postgres
from tasks.resources.lake import Lake, get_lake
from tasks.resources.postgres import read_sql
from tasks.resources.spark import check_jdbc_jar, jdbc_source
from tasks.retry import transient_retries
from tasks.settings import get_settings

STUDENT_COLUMNS = ("student_id", "state", "city", "university", "course")
STUDENT_SCHEMA = pa.schema([(name, pa.string()) for name in STUDENT_COLUMNS])
BLOCK_BYTES = 8 << 20  # a block of CSV at a time, about 100,000 students


class _CopyReader(io.RawIOBase):
    """COPY's output as a file, so that pyarrow parses it in C, block by block: no Python
    object per row, and never more than a block of the table in memory."""

    def __init__(self, copy: psycopg.Copy) -> None:
        self._copy = copy
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            chunk = self._copy.read()
            if not chunk:
                return 0
            self._pending = memoryview(bytes(chunk))
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def _batches(conn: psycopg.Connection, query: sql.Composable) -> Iterator[pa.RecordBatch]:
    """The query's rows as Arrow batches; CSV keeps NULL (unquoted nothing) apart from ''.
    No rows, no batch (pyarrow refuses an empty CSV)."""
    with conn.cursor() as cur:
        copy_sql = sql.SQL("copy ({}) to stdout with (format csv)").format(query)
        with cur.copy(copy_sql) as copy:
            source = io.BufferedReader(_CopyReader(copy), buffer_size=BLOCK_BYTES)
            if not source.peek(1):
                return
            reader = pa_csv.open_csv(
                source,
                read_options=pa_csv.ReadOptions(
                    column_names=list(STUDENT_COLUMNS), block_size=BLOCK_BYTES
                ),
                parse_options=pa_csv.ParseOptions(newlines_in_values=True),
                convert_options=pa_csv.ConvertOptions(
                    column_types=STUDENT_SCHEMA,
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=False,
                ),
            )
            yield from reader


def warehouse_state(conn: psycopg.Connection, as_of: date) -> str:
    """A digest of what the students as of a day are made from: the days dw holds and the
    loads that wrote them, the migrations, the export's query and the day. Read before the
    export: a merge committing in between makes the file newer than its label, never older,
    so the next run exports again."""
    state = postgres.fetch_all(conn, read_sql("meta/warehouse_state.sql"))[0][0] or ""
    parts = (
        state,
        read_sql("export/student_flat_as_of.sql"),
        ",".join(STUDENT_COLUMNS),
        str(as_of),
    )
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def state_name(name: str) -> str:
    """Beside the export, not in it: the Parquet bytes stay a function of the rows alone, so
    two warehouses holding the same students give the same file (and the same outputs'
    inputs digest)."""
    return f"{name.removesuffix('.parquet')}.state.json"


def exported_state(lake: Lake, zone: str, name: str) -> str | None:
    """The warehouse state the export in the lake was made from, or None when there is no
    export, no record of its state, or the file is no longer the one recorded."""
    record_name = state_name(name)
    if not (lake.exists(zone, name) and lake.exists(zone, record_name)):
        return None
    try:
        record = json.loads(lake.read_bytes(zone, record_name))
    except ValueError:
        return None
    if not isinstance(record, dict):  # not a record this module wrote: export again
        return None
    if record.get("fingerprint") != list(lake.fingerprint(zone, name)):
        return None  # replaced or truncated since: export again
    return record.get("state")


def export_students(conn: psycopg.Connection, lake: Lake, zone: str, name: str, as_of: date) -> int:
    """Write the students as of a day to a Parquet file in the lake, streaming; returns rows
    written (none is an empty file with the columns). The day is composed into
    sql/export/student_flat_as_of.sql as a literal: COPY cannot bind parameters."""
    written = 0
    query = sql.SQL(read_sql("export/student_flat_as_of.sql")).format(  # type: ignore[arg-type]
        as_of=sql.Literal(as_of)
    )
    with lake.write_atomic(zone, name) as out, pq.ParquetWriter(out, STUDENT_SCHEMA) as writer:
        for batch in _batches(conn, query):
            writer.write_batch(batch)
            written += batch.num_rows
    return written


def students_export_name(run_date: date) -> str:
    return f"{run_date.isoformat()}/warehouse/student_flat.parquet"


def export_day(conn: psycopg.Connection, lake: Lake, run_date: date) -> int | None:
    """The students as of run_date at temp/<students_export_name>; returns the rows written,
    or None when the file there was made from the same warehouse state and is kept (a rerun
    with nothing new): like the outputs, compared by content, not by clock."""
    name = students_export_name(run_date)
    state = warehouse_state(conn, run_date)
    if exported_state(lake, "temp", name) == state:
        return None
    rows = export_students(conn, lake, "temp", name, run_date)
    record = {"state": state, "fingerprint": list(lake.fingerprint("temp", name))}
    with lake.write_atomic("temp", state_name(name)) as out:  # after the file it describes
        out.write(json.dumps(record).encode("utf-8"))
    return rows


@task(
    **transient_retries(),
    cache_policy=NO_CACHE,
)
def export_for_spark(run_date: date) -> str | None:
    """The students as of run_date as Parquet in the lake's temp zone; returns its name there.
    A past day gets the dimension versions valid that day, as it got when it was loaded.

    With PDBI_JDBC_JAR set Spark reads the same query itself, by JDBC: nothing is exported
    and None tells run_analytics so.
    """
    settings = get_settings()
    if settings.jdbc_jar is not None:
        check_jdbc_jar(settings)  # fail here, with the fix, not once Spark has started
        jdbc_source(postgres.database_url())
        get_run_logger().info("PDBI_JDBC_JAR is set: Spark reads the students by JDBC")
        return None
    name = students_export_name(run_date)
    with postgres.connect() as conn:
        rows = export_day(conn, get_lake(), run_date)
    if rows is None:
        get_run_logger().info(
            "temp/%s: the warehouse has not changed since it was written, kept", name
        )
    else:
        get_run_logger().info("exported %d students as of %s to temp/%s", rows, run_date, name)
    return name
