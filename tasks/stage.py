"""Loading parsed records into stage tables with COPY.

The truncate, the COPY and the load counts share one transaction: a crash mid-load leaves the
previous stage intact, and the counts always describe what stage holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import psycopg
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff
from psycopg import sql

from tasks.entities import ENTITIES, Entity
from tasks.errors import DataError
from tasks.parse import as_text, iter_json_array
from tasks.resources import postgres
from tasks.resources.lake import get_lake
from tasks.retry import only_transient


@dataclass(frozen=True)
class LoadCounts:
    entity: str
    source_file: str
    rows_read: int
    rows_loaded: int
    rows_rejected: int


def stage_row(
    entity: Entity, record: Any, source: str, row: int, load_id: str
) -> tuple[str | None, ...]:
    """One stage row from one source record; keys the entity does not know are ignored."""
    if not isinstance(record, dict):
        raise DataError(f"{source}: row {row} is a {type(record).__name__}, not a JSON object")
    values = tuple(as_text(record.get(key)) for key in entity.columns)
    for value in values:
        if value is not None and "\x00" in value:
            raise DataError(f"{source}: row {row} holds a NUL byte, which PostgreSQL text cannot")
    return (*values, source, row, load_id)


def copy_into_stage(
    conn: psycopg.Connection,
    entity: Entity,
    records: Iterable[tuple[int, Any]],
    source: str,
    load_id: str,
    run_date: date,
) -> LoadCounts:
    """Replace stage.<entity> with the records of one file; the caller's transaction commits."""
    table = sql.Identifier("stage", entity.name)
    columns = sql.SQL(", ").join(map(sql.Identifier, entity.stage_columns))
    read = 0
    with conn.cursor() as cur:
        cur.execute(sql.SQL("truncate {}").format(table))
        copy_sql = sql.SQL("copy {} ({}) from stdin").format(table, columns)
        with cur.copy(copy_sql) as copy:
            for row, record in records:
                copy.write_row(stage_row(entity, record, source, row, load_id))
                read += 1
        counts = LoadCounts(entity.name, source, read, read, 0)
        params = {"load_id": load_id, "run_date": run_date, **asdict(counts)}
        cur.execute(postgres.read_sql("meta/load_counts.sql"), params)
    return counts


def stage_file(entity: Entity, run_date: date, load_id: str) -> LoadCounts:
    """Read one entity's export for the day from the lake and load it into stage."""
    lake = get_lake()
    name = f"{run_date.isoformat()}/{entity.file_name}"
    if not lake.exists("transactional", name):
        raise DataError(
            f"transactional/{name} is missing from the lake at {lake.url}; put the day's export "
            "there (or run `pdbi generate`) before running the pipeline."
        )
    source = f"transactional/{name}"
    with lake.open("transactional", name) as handle, postgres.connect() as conn:
        return copy_into_stage(
            conn, entity, iter_json_array(handle, source), source, load_id, run_date
        )


@task(
    retries=3,
    retry_delay_seconds=exponential_backoff(2),
    retry_jitter_factor=0.5,
    retry_condition_fn=only_transient,
    cache_policy=NO_CACHE,
    tags=["stage"],
    task_run_name="stage-{entity_name}",
)
def stage_entity(entity_name: str, run_date: date, load_id: str) -> LoadCounts:
    counts = stage_file(ENTITIES[entity_name], run_date, load_id)
    get_run_logger().info(
        "%s: %d rows read, %d loaded, %d rejected",
        counts.source_file,
        counts.rows_read,
        counts.rows_loaded,
        counts.rows_rejected,
    )
    return counts
