"""Loading a source's files into stage: parse, land, validate in PostgreSQL, split, move.

Per source, one transaction holds everything: the truncate of stage.<source>, and for each file
its landing table (COPY of the rows parsed into Arrow, tasks/stage/parse.py), GX's validation of
the landing table by its SQL engine on the same connection (tasks/quality/validate.py), the split
of the rows the critical expectations reject (tasks/quality/split.py), the move of the others
into stage, the rejected rows, the load counts and the validation summary. A crash or a failed
suite leaves the previous stage intact. Before the commit the warehouse counts again what it
holds of each file, and rows read = rows loaded + rows rejected must hold. Rejected rows also go
to the lake, one JSON line each in quarantine/<day>/<source>.jsonl, with the expectations they
failed. Memory stays bounded whatever a file's size: records stream through in batches of
PDBI_STAGE_CHUNK_ROWS.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, astuple, dataclass, field
from datetime import date
from typing import IO, Any

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from psycopg import sql
from psycopg.types.json import Jsonb

from tasks.entities import SOURCES, Entity
from tasks.errors import DataError
from tasks.quality.split import critical_rules
from tasks.quality.validate import (
    Verdict,
    over_threshold,
    parameter_names,
    reject_threshold,
    validate_table,
)
from tasks.resources import postgres
from tasks.resources.lake import Lake, get_lake
from tasks.resources.scratch import scratch_folder
from tasks.retry import transient_retries
from tasks.settings import get_settings
from tasks.stage import land
from tasks.stage.parse import RECORD, REJECTED, ROW, Opener, read_batches
from tasks.stage.quarantine import Reject, quarantine_name, write_quarantine, write_rejects

PARTS = ("parse", "land", "validate", "split", "move")  # where a file's time goes


@dataclass(frozen=True)
class LoadCounts:
    entity: str
    source_file: str
    rows_read: int
    rows_loaded: int
    rows_rejected: int


@dataclass
class FileLoad:
    """What loading one file did; `seconds` splits its time by PARTS (and `record`, the
    bookkeeping: rejects, counts, validation history)."""

    counts: LoadCounts
    verdict: Verdict
    rejects: list[Reject]
    threshold: float
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def flagged(self) -> int:
        """Rows flagged: the rows rejected, or the most rows one expectation flagged if more
        (the union is not counted: GX reports counts, not rows, of warnings)."""
        most = max([self.counts.rows_rejected, *self.verdict.unexpected.values()])
        return min(most, self.counts.rows_read)


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
    handle: IO[bytes],
    source: str,
    load_id: str,
    run_date: date,
) -> LoadCounts:
    """Replace stage.<entity> with one file's valid rows (the file given as an open binary
    handle); the caller's transaction commits."""
    truncate(conn, entity)
    data = handle.read()

    @contextmanager
    def reopen() -> Iterator[IO[bytes]]:
        yield io.BytesIO(data)

    with reopen() as again:
        counts = load_file(conn, entity, again, source, load_id, run_date, reopen=reopen).counts
    land.empty_landing(conn, entity)
    return counts


class Clock:
    """Seconds per part of a file's load."""

    def __init__(self) -> None:
        self.seconds = dict.fromkeys((*PARTS, "record"), 0.0)
        self.since = time.perf_counter()

    def tick(self, part: str) -> None:
        now = time.perf_counter()
        self.seconds[part] += now - self.since
        self.since = now


def load_file(
    conn: psycopg.Connection,
    entity: Entity,
    handle: IO[bytes],
    source: str,
    load_id: str,
    run_date: date,
    parameters: dict[str, Any] | None = None,
    reopen: Opener | None = None,
) -> FileLoad:
    """Land, validate and split one file, move its valid rows to stage (truncated by the
    caller), and record its rejects, counts and validation summary. Raises SuiteFailed above
    the threshold; the caller rolls back."""
    given = {k: v for k, v in (parameters or {}).items() if v is not None}
    rules = critical_rules(entity.name, given)  # a suite that cannot split fails before reading
    clock = Clock()
    with scratch_folder("stage") as scratch:
        spill = land.Spill(scratch / "records.arrow")
        try:
            read, early = land_file(conn, entity, handle, source, reopen, spill, clock)
            with land.parallel_scans(conn):
                verdict = validate_table(conn, land.landing_name(entity), entity.name, given)
                clock.tick("validate")
                split = land.split_rejects(conn, entity, rules)
            _same_counts(source, rules, split, verdict)
            records = spill.records([row for row, _ in split])
            rejects = sorted(
                early + [Reject(row, found, records[row]) for row, found in split],
                key=lambda r: r.source_row,
            )
            clock.tick("split")
        finally:
            spill.close()
    threshold = reject_threshold(entity.name)
    counts = LoadCounts(entity.name, source, read, read - len(rejects), len(rejects))
    load = FileLoad(counts, verdict, rejects, threshold, clock.seconds)
    problem = over_threshold(
        source, entity.name, read, {r.source_row: r.reasons for r in rejects}, threshold
    )
    if verdict.broken:
        problem = (
            f"{source}: the {entity.name} suite could not be evaluated: "
            + "; ".join(verdict.broken)
            + "."
        )
    if problem:
        where = f"quarantine/{quarantine_name(entity, run_date)}"
        raise SuiteFailed(f"{problem} The rejected rows are in {where} of the lake.", load)
    moved = land.move_to_stage(conn, entity, source, load_id)
    clock.tick("move")
    write_rejects(conn, entity, rejects, source, load_id, run_date)
    reconcile(conn, entity, counts, load_id)
    if moved != counts.rows_loaded:
        raise DataError(f"{source}: {moved:,} rows moved to stage, {counts.rows_loaded:,} expected")
    conn.execute(postgres.read_sql("meta/load_counts.sql"), _count_params(load, load_id, run_date))
    record_validation(conn, load, load_id, run_date, "loaded")
    clock.tick("record")
    return load


def land_file(
    conn: psycopg.Connection,
    entity: Entity,
    handle: IO[bytes],
    source: str,
    reopen: Opener | None,
    spill: land.Spill,
    clock: Clock,
) -> tuple[int, list[Reject]]:
    """COPY the file's landable rows into a fresh landing table, spilling their records;
    returns the rows read and the rows rejected while reading (not JSON, not an object, ...)."""
    land.empty_landing(conn, entity)
    read, early = 0, []
    batches = read_batches(
        handle, source, entity, get_settings().stage_chunk_rows, reopen or _no_reopen(source)
    )
    with land.copy_into_landing(conn, entity) as copy:
        clock.tick("land")
        for batch in batches:
            clock.tick("parse")
            read += batch.num_rows
            marked = pc.is_valid(batch.column(REJECTED))
            if pc.any(marked).as_py():
                for row in batch.filter(marked).select([ROW, RECORD, REJECTED]).to_pylist():
                    is_json = row[REJECTED] != ["record_is_valid_json"]
                    early.append(Reject(row[ROW], row[REJECTED], row[RECORD], is_json))
                batch = batch.filter(pc.invert(marked))
            spill.write(batch)
            land.write_batch(copy, entity, batch)
            # Arrow's allocator keeps freed blocks for reuse: handing them back each batch
            # keeps the load's peak from creeping up with the file (measured: +61 MB instead
            # of +90 MB from one to four million sessions)
            pa.default_memory_pool().release_unused()
            clock.tick("land")
    clock.tick("land")
    return read, early


def _no_reopen(source: str) -> Opener:
    def reopen() -> AbstractContextManager[IO[bytes]]:
        raise DataError(f"{source}: not readable as JSON")

    return reopen


def _same_counts(
    source: str, rules: list, split: list[tuple[int, list[str]]], verdict: Verdict
) -> None:
    """The split and GX must have flagged the same number of rows per critical expectation."""
    counted = {rule.label: 0 for rule in rules}
    for _, found in split:
        for what in found:
            counted[what] += 1
    none = 0 if verdict.rows == 0 else None  # GX counts nothing on an empty table
    disagree = {
        what: (n, verdict.unexpected.get(what, none))
        for what, n in counted.items()
        if verdict.unexpected.get(what, none) != n and not verdict.broken
    }
    if disagree:
        raise RuntimeError(
            f"{source}: the SQL split and Great Expectations count different rows for "
            f"{disagree} (split, GX): tasks/quality/split.py no longer says what GX says."
        )


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
        "rows_unexpected": load.flagged,
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
                    reopen = _opener(lake, entity.zone, name)
                    loads.append(
                        load_file(
                            conn, entity, handle, source, load_id, run_date, parameters, reopen
                        )
                    )
        except SuiteFailed as failed:
            conn.rollback()
            write_quarantine(lake, entity, run_date, load_id, _rejected([*loads, failed.load]))
            record_validation(conn, failed.load, load_id, run_date, "failed")
            conn.commit()
            raise
        land.empty_landing(conn, entity)  # nothing waits there once the load commits
        write_quarantine(lake, entity, run_date, load_id, _rejected(loads))
    return loads


def _opener(lake: Lake, zone: str, name: str) -> Opener:
    return lambda: lake.open(zone, name)


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
            key = other.columns[other.key]
            try:
                ids: set[str] = set()
                for file in source_files(lake, other, run_date):
                    with lake.open(other.zone, file) as handle:
                        reopen = _opener(lake, other.zone, file)
                        for batch in read_batches(handle, file, other, 1 << 20, reopen):
                            ids.update(batch.column(key).drop_null().unique().to_pylist())
                values[name] = sorted(ids)
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
            {**asdict(c), "flagged": load.flagged, "success": load.verdict.success,
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
