"""Merging stage into the dimensional model, one step per dimension or fact.

The order matters: lookup dimensions before the student that refers to them, every
dimension before the facts that point at them. The type-2 dimensions declare here which
attributes they track and what absence from a snapshot means; the SQL in sql/merge/ applies it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import psycopg
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from psycopg import ClientCursor, sql

from tasks.errors import DataError
from tasks.resources import postgres
from tasks.resources.postgres import read_sql
from tasks.retry import transient_retries


@dataclass(frozen=True)
class Dimension:
    """How one type-2 dimension keeps history (dbt snapshot semantics, check strategy).

    A change of a `tracked` column closes the current version and opens a new one; `untracked`
    columns are recorded when a version opens and alone never open one. `hard_deletes` says what
    a key absent from a non-empty snapshot means: "invalidate" closes its current version and
    flags it deleted (a key that comes back opens a new version); "ignore" keeps it current.
    """

    table: str  # dw.<table>
    surrogate: str  # <noun>_key
    key: str  # the source's business key
    tracked: tuple[str, ...]
    untracked: tuple[str, ...] = ()
    hard_deletes: Literal["invalidate", "ignore"] = "invalidate"
    snapshot_sql: str = "merge/dim_lookup.sql"  # builds the typed snapshot `incoming`
    stage_table: str = ""  # the source it snapshots (stage.<stage_table>)

    @property
    def attributes(self) -> tuple[str, ...]:
        return (*self.tracked, *self.untracked)


def _lookup(noun: str, stage_table: str) -> Dimension:
    # Reference lists: a university missing from one export must not orphan its students.
    return Dimension(
        f"dim_{noun}", f"{noun}_key", f"{noun}_id", ("name",), (), "ignore", stage_table=stage_table
    )


SCD_DIMENSIONS: dict[str, Dimension] = {
    "dim_university": _lookup("university", "universities"),
    "dim_course": _lookup("course", "courses"),
    "dim_subject": _lookup("subject", "subjects"),
    # Where a student lives and what they study is history; when and how they signed up is
    # recorded with each version but is not a reason to open one.
    "dim_student": Dimension(
        "dim_student",
        "student_key",
        "student_id",
        tracked=("state", "city", "university_id", "course_id"),
        untracked=("registered_at", "signup_source"),
        hard_deletes="invalidate",
        snapshot_sql="merge/dim_student.sql",
        stage_table="students",
    ),
}
REFERENCE = "dim_reference"  # clients, plans and dates: no other dimension refers to them
DIMENSIONS = (REFERENCE, "dim_university", "dim_course", "dim_subject", "dim_student")
# Independent of each other; the longest first, so that with two at once the short one runs
# after the other long one rather than holding back the longest.
FACTS = ("fct_follow", "fct_session", "fct_subscription")


@dataclass(frozen=True)
class MergeCounts:
    step: str
    closed: int = 0  # versions closed because a tracked attribute changed
    opened: int = 0  # versions opened (new, changed and returning keys), or fact rows written
    deleted: int = 0  # versions closed and flagged because their key left the snapshot
    unchanged: int = 0  # keys of the snapshot whose current version was left untouched
    corrected: int = 0  # a same-day rerun's fixes: today's versions updated, removed, reopened
    repointed: int = 0  # facts of earlier loads moved to the dimension version now valid


def _compose(relative: str, dim: Dimension) -> sql.Composed:
    """A sql/merge file with the dimension's identifiers composed in (never data)."""

    def columns(alias: str | None) -> sql.Composable:
        names = (sql.Identifier(*filter(None, (alias, c))) for c in dim.attributes)
        return sql.SQL(", ").join(names)

    tracked = sql.SQL(", ").join(map(sql.Identifier, dim.tracked))
    names: dict[str, sql.Composable] = {
        "dim": sql.Identifier("dw", dim.table),
        "sk": sql.Identifier(dim.surrogate),
        "key": sql.Identifier(dim.key),
        "attrs": columns(None),
        "new_attrs": columns("i"),
        "cur_attrs": columns("cur"),
        "row_hash": sql.SQL("md5(json_build_array({})::text)").format(tracked),
        "dim_name": sql.Literal(f"dw.{dim.table}"),  # as text, for pg_get_serial_sequence
        "sk_name": sql.Literal(dim.surrogate),
    }
    if dim.stage_table:
        names["stage_table"] = sql.Identifier("stage", dim.stage_table)
    return sql.SQL(read_sql(relative)).format(**names)  # type: ignore[arg-type]


def _execute(conn: psycopg.Connection, statement: sql.Composable, params: dict) -> list[int]:
    """Run a file of one or more statements; returns each statement's rowcount.

    A client-side cursor lets one file hold several statements with bound parameters.
    """
    with ClientCursor(conn) as cur:
        cur.execute(statement, params)
        counts = [cur.rowcount]
        while cur.nextset():
            counts.append(cur.rowcount)
    return counts


def _fetch_one(conn: psycopg.Connection, statement: sql.Composable) -> tuple[Any, ...]:
    """The one row of an aggregate query."""
    with conn.cursor() as cur:
        return tuple(cur.execute(statement).fetchone() or ())


def merge_dimension(conn: psycopg.Connection, dim: Dimension, run_date: date) -> MergeCounts:
    """Type-2 merge of one dimension from its stage snapshot, in the caller's transaction.

    An empty snapshot is taken for a missing export: the dimension is left as it is.
    """
    (last_load,) = _fetch_one(conn, _compose("merge/scd_last_load.sql", dim))
    if last_load is not None and last_load > run_date:  # the flows rewind first: never there
        raise DataError(
            f"dw.{dim.table} already holds history loaded on {last_load}; merging {run_date} "
            "on top of it would rewrite it. Rewind the warehouse to before the day first "
            "(rewind_history), as the daily pipeline does when it replays later days."
        )
    params = {"run_date": run_date, "invalidate": dim.hard_deletes == "invalidate"}
    if _execute(conn, _compose(dim.snapshot_sql, dim), params)[-1] == 0:
        return MergeCounts(dim.table)
    _execute(conn, _compose("merge/scd_plan.sql", dim), params)
    _execute(conn, _compose("merge/scd_apply.sql", dim), params)
    opened, closed, deleted, corrected, unchanged = _fetch_one(
        conn, _compose("merge/scd_counts.sql", dim)
    )
    return MergeCounts(dim.table, closed, opened, deleted, unchanged, corrected)


@dataclass(frozen=True)
class RewindCounts:
    """What a rewind took back: fact rows, clients and plans, versions removed and reopened."""

    from_day: date
    facts: int = 0
    references: int = 0
    removed: int = 0
    reopened: int = 0


def rewind_history(conn: psycopg.Connection, from_day: date) -> RewindCounts:
    """The warehouse as it was before from_day was loaded, in the caller's transaction: what
    loads on or after the day wrote is removed, the versions they closed are reopened, and the
    days are no longer recorded as loaded. Nothing to undo (a new latest day): nothing changes.

    Loading a day after it makes the history equal to loading every day in date order,
    surrogate keys included: new keys are numbered after the largest one left.
    """
    params = {"from_day": from_day}
    counts = _execute(conn, sql.SQL(read_sql("merge/rewind.sql")), params)  # type: ignore[arg-type]
    facts, references = sum(counts[1:4]), sum(counts[4:6])
    removed = reopened = 0
    for dim in SCD_DIMENSIONS.values():
        _, deleted, updated = _execute(conn, _compose("merge/scd_rewind.sql", dim), params)
        removed, reopened = removed + deleted, reopened + updated
    return RewindCounts(from_day, facts, references, removed, reopened)


def run_merge_step(conn: psycopg.Connection, step: str, run_date: date) -> MergeCounts:
    """Run one merge step in the caller's transaction and report what it changed."""
    if step in SCD_DIMENSIONS:
        return merge_dimension(conn, SCD_DIMENSIONS[step], run_date)
    if step not in FACTS and step != "dim_reference":
        raise ValueError(f"unknown merge step {step!r}")
    statement = sql.SQL(read_sql(f"merge/{step}.sql"))  # type: ignore[arg-type]
    counts = _execute(conn, statement, {"run_date": run_date})
    written = [max(c, 0) for c in counts]  # a LOCK or an ANALYZE counts -1
    if step in FACTS:  # the load of today's stage, then the re-pointing statements
        return MergeCounts(step, opened=written[0], repointed=sum(written[1:]))
    return MergeCounts(step, opened=sum(written))


@task(
    **transient_retries(),
    cache_policy=NO_CACHE,
    tags=["warehouse"],
    task_run_name="merge-{step}",
)
def merge_step(step: str, run_date: date) -> MergeCounts:
    """One merge step in one transaction: a retry reruns it whole, and reruns are no-ops."""
    with postgres.connect(application_name=f"pdbi-merge-{step}") as conn:
        counts = run_merge_step(conn, step, run_date)
    get_run_logger().info(
        "%s: %d opened, %d closed, %d deleted, %d unchanged, %d corrected, %d repointed",
        step,
        counts.opened,
        counts.closed,
        counts.deleted,
        counts.unchanged,
        counts.corrected,
        counts.repointed,
    )
    return counts
