"""Loading a source's files into stage: read, validate, COPY the valid rows, quarantine the rest.

Per source, one transaction holds the truncate, the COPY of each file's valid rows, the rejected
rows, the load counts and the validation summaries: a crash or a failed suite leaves the previous
stage intact. A file goes through in chunks of PDBI_STAGE_CHUNK_ROWS records (read, validated,
copied), so memory stays bounded whatever the file's size. Before the commit the warehouse
counts again what it holds of each file, and rows read = rows loaded + rows rejected must hold.
Rejected rows also go to the lake, one JSON line each in quarantine/<day>/<source>.jsonl, with
the expectations they failed.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, astuple, dataclass, field
from datetime import date
from itertools import islice
from typing import Any

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv
from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter
from psycopg.types.json import Jsonb

from tasks.entities import SOURCES, Entity
from tasks.errors import DataError
from tasks.quality.validate import Verdict, over_threshold, parameter_names, reject_threshold
from tasks.resources import postgres
from tasks.resources.lake import Lake, get_lake
from tasks.retry import transient_retries
from tasks.settings import get_settings
from tasks.stage.batch import Batch, read_batch
from tasks.stage.file_validation import FileValidation
from tasks.stage.parse import as_text, iter_records
from tasks.stage.quarantine import (
    Reject,
    collect_rejects,
    quarantine_name,
    write_quarantine,
    write_rejects,
)

COPY_ROWS = 100_000  # rows per CSV block sent to COPY
_CSV = pa_csv.WriteOptions(include_header=False)  # nulls unquoted, strings quoted: NULL vs ''


@dataclass(frozen=True)
class LoadCounts:
    entity: str
    source_file: str
    rows_read: int
    rows_loaded: int
    rows_rejected: int


@dataclass
class FileLoad:
    """What loading one file did; `seconds` splits its time into read, validate and copy."""

    counts: LoadCounts
    verdict: Verdict
    rejects: list[Reject]
    threshold: float
    seconds: dict[str, float] = field(default_factory=dict)


class SuiteFailed(DataError):
    """More rows failed the suite than its threshold allows; stage is left as it was."""

    def __init__(self, message: str, load: FileLoad) -> None:
        super().__init__(message)
        self.load = load


def truncate(conn: psycopg.Connection, entity: Entity) -> None:
    conn.execute(sql.SQL("truncate {}").format(sql.Identifier("stage", entity.name)))


def copy_into_stage(
    conn: psycopg.Connection,
    entity: Entity,
    records: Iterable[tuple[int, Any]],
    source: str,
    load_id: str,
    run_date: date,
) -> LoadCounts:
    """Replace stage.<entity> with one file's valid rows; the caller's transaction commits."""
    truncate(conn, entity)
    return load_file(conn, entity, records, source, load_id, run_date).counts


def load_file(
    conn: psycopg.Connection,
    entity: Entity,
    records: Iterable[tuple[int, Any]],
    source: str,
    load_id: str,
    run_date: date,
    parameters: dict[str, Any] | None = None,
) -> FileLoad:
    """Validate one file and add its valid rows to stage (truncated by the caller), its
    rejects, counts and validation summary to meta, PDBI_STAGE_CHUNK_ROWS records at a time.
    Raises SuiteFailed above the threshold; the caller rolls back what the chunks copied."""
    validation = FileValidation(entity.name, source, parameters)
    seconds = dict.fromkeys(("read", "validate", "copy"), 0.0)
    rejects: list[Reject] = []
    read = 0
    clock = time.perf_counter()
    for chunk in _chunks(records, get_settings().stage_chunk_rows):
        batch = read_batch(entity, chunk, source)
        clock = _tick(seconds, "read", clock)
        chunk_rejects = collect_rejects(batch, validation.add(batch))
        clock = _tick(seconds, "validate", clock)
        copy_rows(conn, entity, batch, {r.source_row for r in chunk_rejects}, source, load_id)
        clock = _tick(seconds, "copy", clock)
        rejects += chunk_rejects
        read += batch.read
    verdict = validation.finish()
    clock = _tick(seconds, "validate", clock)
    threshold = reject_threshold(entity.name)
    counts = LoadCounts(entity.name, source, read, read - len(rejects), len(rejects))
    load = FileLoad(counts, verdict, rejects, threshold, seconds)
    problem = over_threshold(
        source, entity.name, read, {r.source_row: r.reasons for r in rejects}, threshold
    )
    if verdict.broken:
        problem = (
            f"{source}: the {entity.name} suite failed as a whole: {'; '.join(verdict.broken)}."
        )
    if problem:
        where = f"quarantine/{quarantine_name(entity, run_date)}"
        raise SuiteFailed(f"{problem} The rejected rows are in {where} of the lake.", load)
    write_rejects(conn, entity, rejects, source, load_id, run_date)
    reconcile(conn, entity, counts, load_id)
    conn.execute(postgres.read_sql("meta/load_counts.sql"), _count_params(load, load_id, run_date))
    record_validation(conn, load, load_id, run_date, "loaded")
    _tick(seconds, "copy", clock)
    return load


def _chunks(records: Iterable[tuple[int, Any]], size: int) -> Iterator[list[tuple[int, Any]]]:
    it = iter(records)
    while chunk := list(islice(it, size)):
        yield chunk


def _tick(seconds: dict[str, float], part: str, since: float) -> float:
    now = time.perf_counter()
    seconds[part] += now - since
    return now


def copy_rows(
    conn: psycopg.Connection,
    entity: Entity,
    batch: Batch,
    rejected: set[int],
    source: str,
    load_id: str,
) -> int:
    """COPY the valid rows as CSV written by pyarrow, so no Python code runs per row."""
    rows = np.asarray(batch.rows, dtype=np.int64)
    table = pa.table(
        {
            **batch.arrays,
            "source_file": pa.repeat(pa.scalar(source), len(rows)),
            "source_row": rows,
            "load_id": pa.repeat(pa.scalar(load_id), len(rows)),
        }
    )
    if rejected:
        table = table.filter(pa.array(~np.isin(rows, np.fromiter(rejected, np.int64))))
    statement = sql.SQL("copy {} ({}) from stdin (format csv)").format(
        sql.Identifier("stage", entity.name),
        sql.SQL(", ").join(map(sql.Identifier, entity.stage_columns)),
    )
    with conn.cursor() as cur:
        # a writer thread sends each block while pyarrow renders the next
        with cur.copy(statement, writer=QueuedLibpqWriter(cur)) as copy:
            for offset in range(0, table.num_rows, COPY_ROWS):
                block = io.BytesIO()
                pa_csv.write_csv(table.slice(offset, COPY_ROWS), block, _CSV)
                copy.write(block.getbuffer())
        return cur.rowcount


def reconcile(conn: psycopg.Connection, entity: Entity, counts: LoadCounts, load_id: str) -> None:
    """Count what the warehouse now holds of the file: read = loaded + rejected, or no commit."""
    query = sql.SQL(postgres.read_sql("meta/reconcile.sql")).format(
        stage_table=sql.Identifier("stage", entity.name)
    )
    params = {"load_id": load_id, "source_file": counts.source_file}
    loaded, rejected = postgres.fetch_all(conn, query, params)[0]
    if (loaded, rejected) != (counts.rows_loaded, counts.rows_rejected):
        raise DataError(
            f"{counts.source_file}: {counts.rows_read:,} rows read but the warehouse holds "
            f"{loaded:,} in stage.{entity.name} and {rejected:,} rejected (expected "
            f"{counts.rows_loaded:,} and {counts.rows_rejected:,}); nothing was committed."
        )


def _count_params(load: FileLoad, load_id: str, run_date: date) -> dict[str, Any]:
    return {"load_id": load_id, "run_date": run_date, **asdict(load.counts)}


def record_validation(
    conn: psycopg.Connection, load: FileLoad, load_id: str, run_date: date, status: str
) -> None:
    """The validation's summary and trimmed GX result, for the dashboard and Data Docs."""
    verdict, counts = load.verdict, load.counts
    statistics = verdict.result.get("statistics", {})
    rejected = {r.source_row for r in load.rejects}
    result = {**verdict.result, "meta": {**verdict.result.get("meta", {}), "pdbi": asdict(counts)}}
    params = {
        "load_id": load_id,
        "run_date": run_date,
        "entity": counts.entity,
        "suite": verdict.suite,
        "source_file": counts.source_file,
        "status": status,
        "success": verdict.success,
        "evaluated_expectations": statistics.get("evaluated_expectations", 0),
        "successful_expectations": statistics.get("successful_expectations", 0),
        "rows_evaluated": counts.rows_read,
        "rows_unexpected": len(rejected | verdict.warned),
        "rows_rejected": counts.rows_rejected,
        "reject_ratio": counts.rows_rejected / counts.rows_read if counts.rows_read else 0.0,
        "threshold": load.threshold,
        "result": Jsonb(result),
    }
    conn.execute(postgres.read_sql("meta/validation_results.sql"), params)


def stage_source(
    entity: Entity, run_date: date, load_id: str, archived: bool = False
) -> list[FileLoad]:
    """Load every file of one source for the day in one transaction; quarantine the rejects.
    `archived`: from the copies a committed load kept (a replay; tasks/lake/archive.py).

    A failed suite rolls the whole source back, then records its validation on its own so
    that the dashboard and Data Docs show what failed."""
    lake = get_lake()
    entity = entity.archived() if archived else entity
    names = source_files(lake, entity, run_date)
    parameters = reference_ids(lake, entity, run_date, archived)
    loads: list[FileLoad] = []
    with postgres.connect(application_name=f"pdbi-stage-{entity.name}") as conn:
        truncate(conn, entity)
        try:
            for name in names:
                source = f"{entity.zone}/{name}"
                with lake.open(entity.zone, name) as handle:
                    records = iter_records(handle, source, entity.layout)
                    loads.append(
                        load_file(conn, entity, records, source, load_id, run_date, parameters)
                    )
        except SuiteFailed as failed:
            conn.rollback()
            write_quarantine(lake, entity, run_date, load_id, _rejected([*loads, failed.load]))
            record_validation(conn, failed.load, load_id, run_date, "failed")
            conn.commit()
            raise
        write_quarantine(lake, entity, run_date, load_id, _rejected(loads))
    return loads


def _rejected(loads: list[FileLoad]) -> list[tuple[str, Reject]]:
    return [(load.counts.source_file, r) for load in loads for r in load.rejects]


def source_files(lake: Lake, entity: Entity, run_date: date) -> list[str]:
    pattern = f"{run_date.isoformat()}/{entity.file_name}"
    names = lake.list(entity.zone, pattern)
    if not names:
        raise DataError(
            f"{entity.zone}/{pattern} is missing from the lake at {lake.url}; put the day's "
            "export there (or run `pdbi generate`) before running the pipeline."
        )
    return names


def reference_ids(
    lake: Lake, entity: Entity, run_date: date, archived: bool = False
) -> dict[str, Any]:
    """Values for the suite's `ids_of_<source>` parameters: the ids in that source's file of
    the day (its archived copy for a replay), as stage text. A missing or unreadable file
    leaves the check out (None)."""
    values: dict[str, Any] = {}
    for references in parameter_names(entity.name).values():
        for reference in references.values():
            name = reference["$PARAMETER"]
            other = SOURCES[name.removeprefix("ids_of_")]
            other = other.archived() if archived else other
            try:
                ids: set[str | None] = set()
                for file in source_files(lake, other, run_date):
                    with lake.open(other.zone, file) as handle:
                        for _, record in iter_records(handle, file, other.layout):
                            if isinstance(record, dict):
                                ids.add(as_text(record.get(other.key)))
                values[name] = sorted(ids - {None})
            except DataError:
                values[name] = None
    return values


@task(
    **transient_retries(),
    cache_policy=NO_CACHE,
    tags=["stage"],
    task_run_name="stage-{entity_name}",
)
def stage_entity(
    entity_name: str, run_date: date, load_id: str, archived: bool = False
) -> list[LoadCounts]:
    loads = stage_source(SOURCES[entity_name], run_date, load_id, archived)
    publish_load_artifact(entity_name, run_date, loads)
    return [load.counts for load in loads]


def publish_load_artifact(entity_name: str, run_date: date, loads: list[FileLoad]) -> None:
    """Per file: counts, validation and timing as a table artifact; a warning when rows were
    quarantined (below the threshold, or the load would have failed)."""
    logger = get_run_logger()
    table = []
    for load in loads:
        c = load.counts
        seconds = {f"{part}_seconds": round(s, 2) for part, s in load.seconds.items()}
        table.append(
            {**asdict(c), "warned": len(load.verdict.warned), "success": load.verdict.success,
             "threshold": load.threshold, **seconds}
        )  # fmt: skip
        logger.info("%s: %d read, %d loaded, %d rejected", *astuple(c)[1:])
        if c.rows_rejected:
            logger.warning(
                "%s: %d rows (%.2f%%, threshold %.2f%%) quarantined in quarantine/%s",
                c.source_file, c.rows_rejected, 100 * c.rows_rejected / c.rows_read,
                100 * load.threshold, quarantine_name(SOURCES[entity_name], run_date),
            )  # fmt: skip
    key = f"stage-{entity_name.replace('_', '-')}"
    create_table_artifact(key=key, table=table, description=f"{entity_name}, {run_date}")


def collect_counts(futures: dict[str, PrefectFuture]) -> dict[str, list[LoadCounts]]:
    """Every source's counts, or one error naming each source that failed (the others loaded)."""
    counts: dict[str, list[LoadCounts]] = {}
    failures: dict[str, BaseException] = {}
    for name, future in futures.items():
        try:
            counts[name] = future.result()
        except Exception as exc:  # noqa: BLE001 - gathered and raised together below
            failures[name] = exc
    if failures:
        listed = " | ".join(f"{name}: {exc}" for name, exc in failures.items())
        message = (
            f"{len(failures)} of {len(futures)} stage loads failed, the others loaded: {listed}"
        )
        kind = (
            DataError if all(isinstance(e, DataError) for e in failures.values()) else RuntimeError
        )
        raise kind(message)
    return counts
