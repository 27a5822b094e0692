"""Merging stage into the dimensional model, one SQL file per step.

The order matters: lookup dimensions before the student that refers to them, every
dimension before the facts that point at them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import psycopg
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff
from psycopg import ClientCursor, sql

from tasks.resources import postgres
from tasks.resources.postgres import read_sql
from tasks.retry import only_transient

# dimension -> (stage table, business key); they share sql/merge/dim_lookup.sql
LOOKUP_DIMENSIONS: dict[str, tuple[str, str]] = {
    "dim_university": ("universities", "university_id"),
    "dim_course": ("courses", "course_id"),
    "dim_subject": ("subjects", "subject_id"),
}
DIMENSIONS = ("dim_reference", *LOOKUP_DIMENSIONS, "dim_student")
FACTS = ("fct_session", "fct_subscription", "fct_follow")


@dataclass(frozen=True)
class MergeCounts:
    step: str
    closed: int = 0  # type-2 versions closed because a tracked attribute changed
    opened: int = 0  # versions opened (new keys and changed keys), or fact rows written


def _statement(step: str) -> sql.Composable:
    if step in LOOKUP_DIMENSIONS:
        stage_table, key = LOOKUP_DIMENSIONS[step]
        return sql.SQL(read_sql("merge/dim_lookup.sql")).format(
            dim=sql.Identifier("dw", step),
            stage_table=sql.Identifier("stage", stage_table),
            key=sql.Identifier(key),
        )
    return sql.SQL(read_sql(f"merge/{step}.sql"))  # type: ignore[arg-type]


def run_merge_step(conn: psycopg.Connection, step: str, run_date: date) -> MergeCounts:
    """Run one merge file in the caller's transaction and report what it changed.

    A client-side cursor lets one file hold several statements with bound parameters.
    """
    with ClientCursor(conn) as cur:
        cur.execute(_statement(step), {"run_date": run_date})
        counts = [cur.rowcount]
        while cur.nextset():
            counts.append(cur.rowcount)
    if step in FACTS:
        return MergeCounts(step, opened=counts[-1])
    if step == "dim_reference":
        return MergeCounts(step, opened=sum(counts))
    # dimension files: create temp table, close changed, open new
    return MergeCounts(step, closed=counts[-2], opened=counts[-1])


@task(
    retries=3,
    retry_delay_seconds=exponential_backoff(2),
    retry_jitter_factor=0.5,
    retry_condition_fn=only_transient,
    cache_policy=NO_CACHE,
    tags=["warehouse"],
    task_run_name="merge-{step}",
)
def merge_step(step: str, run_date: date) -> MergeCounts:
    """One merge file in one transaction: a retry reruns it whole, and reruns are no-ops."""
    with postgres.connect() as conn:
        counts = run_merge_step(conn, step, run_date)
    get_run_logger().info("%s: %d closed, %d opened", step, counts.closed, counts.opened)
    return counts
