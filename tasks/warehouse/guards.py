"""Guards: checks a day must pass before the warehouse and the outputs take it.

An empty export of a versioned (type-2) source is taken as "nothing to say" by its merge: the
dimension keeps the previous snapshot while the day's facts and outputs go on. That is right
for a deliberate empty day and wrong for a broken export, and only an operator can tell them
apart. So the run stops after stage, before any merge, with the file and its figures named
(rows read, loaded, rejected; what the dimension holds; the previous load), whether or not the
dimension holds rows yet, and records the decision in `meta.guard_decisions`. An operator who
knows the day is right lists it in PDBI_ACCEPT_DAYS and runs it again: the run goes on, warns,
and records the day as accepted. Days loaded again by a replay were decided when first taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import psycopg
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from psycopg import sql
from psycopg.types.json import Jsonb

from tasks.errors import DataError
from tasks.resources import postgres
from tasks.retry import transient_retries
from tasks.settings import get_settings
from tasks.warehouse.merge import SCD_DIMENSIONS, Dimension

EMPTY_EXPORT = "empty-type2-export"
TYPE2_SOURCES = {dim.stage_table: dim for dim in SCD_DIMENSIONS.values()}  # source -> dimension


@dataclass(frozen=True)
class Failed:
    """One file a guard refused, with its figures and the sentence that explains them."""

    source_file: str
    figures: dict
    message: str


def current_versions(conn: psycopg.Connection, dim: Dimension) -> int:
    query = sql.SQL(postgres.read_sql("meta/current_versions.sql")).format(  # type: ignore[arg-type]
        dim=sql.Identifier("dw", dim.table), sk=sql.Identifier(dim.surrogate)
    )
    return int(postgres.fetch_all(conn, query)[0][0])


def empty_exports(conn: psycopg.Connection, run_date: date, load_id: str) -> list[Failed]:
    """The type-2 exports of this load that put no row into stage, each explained."""
    params = {"load_id": load_id, "run_date": run_date, "entities": sorted(TYPE2_SOURCES)}
    failed = []
    for (
        entity,
        source_file,
        read,
        loaded,
        rejected,
        previous_day,
        previous_rows,
    ) in postgres.fetch_all(conn, postgres.read_sql("meta/empty_exports.sql"), params):
        dim = TYPE2_SOURCES[entity]
        current = current_versions(conn, dim)
        held = f"{current:,} current" if current else "none yet"
        before = (
            f"the previous load ({previous_day}) took {previous_rows:,}"
            if previous_day
            else "no earlier load took any"
        )
        figures = {
            "entity": entity, "rows_read": read, "rows_loaded": loaded, "rows_rejected": rejected,
            "dimension": f"dw.{dim.table}", "dimension_current": current,
            "previous_day": previous_day.isoformat() if previous_day else None,
            "previous_rows": previous_rows,
        }  # fmt: skip
        message = (
            f"{source_file} is empty: {loaded:,} {entity} loaded of {read:,} rows read "
            f"({rejected:,} rejected); dw.{dim.table} holds {held}, and {before}"
        )
        failed.append(Failed(source_file, figures, message))
    return failed


def decide(
    conn: psycopg.Connection, run_date: date, load_id: str, failed: list[Failed]
) -> str | None:
    """Record each failure as stopped or accepted (PDBI_ACCEPT_DAYS), in the caller's
    transaction; returns the run's error message when it must stop, else None."""
    accepted = run_date in get_settings().accept_days
    for f in failed:
        params = {
            "load_id": load_id, "run_date": run_date, "guard": EMPTY_EXPORT,
            "source_file": f.source_file, "decision": "accepted" if accepted else "stopped",
            "figures": Jsonb(f.figures), "message": f.message,
        }  # fmt: skip
        conn.execute(postgres.read_sql("meta/guard_decision_record.sql"), params)
    if not failed or accepted:
        return None
    return (
        f"{'; '.join(f.message for f in failed)}. An empty export of a versioned source would "
        "leave its dimension as it was while the day's facts and outputs go on, so the run "
        f"stopped before the warehouse and the outputs took {run_date}. Fix the export and run "
        f"{run_date} again, or, if the day really is empty, accept it: "
        f"PDBI_ACCEPT_DAYS='[\"{run_date}\"]'."
    )


@task(**transient_retries(), cache_policy=NO_CACHE)
def check_exports(run_date: date, load_id: str) -> list[str]:
    """After stage, before any merge: the day's type-2 exports must not be empty, unless the
    day is accepted. Returns the accepted failures' messages (logged as warnings)."""
    with postgres.connect() as conn:
        failed = empty_exports(conn, run_date, load_id)
        stop = decide(conn, run_date, load_id, failed)
    if stop:
        raise DataError(stop)
    for f in failed:
        get_run_logger().warning(
            "%s. Accepted: %s is in PDBI_ACCEPT_DAYS (recorded in meta.guard_decisions)",
            f.message, run_date,
        )  # fmt: skip
    return [f.message for f in failed]
