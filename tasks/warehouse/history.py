"""Which days the warehouse holds, and which a run must load again: the replay of later days.

Type-2 history depends on the order of loads. A day loaded after later days (a failed night run
again, a late export, a catch-up) would rewrite their history, so a run that merges a day first
rewinds the warehouse to before it (`rewind_history` in merge.py) and then loads every later
day again, in date order, from the exports their loads took (archived in temp/<day>/).

The bookkeeping, in meta:
- loaded: `meta.warehouse_days`, written once a day's merges committed, deleted by a rewind;
- pending: days the manifest (`meta.ingested_files`) records as taken but not loaded: a
  rewind undid them and their replay has not run yet (it was interrupted, or deferred by a
  backfill or a catch-up to its last day). Every loaded day comes before every pending day.
A run of day D loads, in order: the pending days before D (an interrupted replay, usually
none), then D itself (its new files; from its archive when it is pending and nothing of it is
new), then the pending days after D, which its rewind made of every later loaded day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import psycopg
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from tasks.resources import postgres
from tasks.retry import transient_retries
from tasks.warehouse.merge import RewindCounts, rewind_history


@dataclass(frozen=True)
class History:
    loaded: tuple[date, ...] = ()
    pending: tuple[date, ...] = ()


def read_history(conn: psycopg.Connection) -> History:
    rows = postgres.fetch_all(conn, postgres.read_sql("meta/warehouse_days.sql"))
    return History(
        tuple(day for day, state in rows if state == "loaded"),
        tuple(day for day, state in rows if state == "pending"),
    )


def pending_before(history: History, run_date: date) -> tuple[date, ...]:
    """The days a run of run_date loads again before its own: an unfinished replay's."""
    return tuple(day for day in history.pending if day < run_date)


def replay_scope(history: History, run_date: date, merges: bool) -> tuple[date, ...]:
    """Every other day a run of run_date may load again: the pending ones, and when it merges,
    the loaded days from run_date on (its rewind makes them pending)."""
    later = [day for day in history.loaded if merges and day >= run_date]
    return tuple(sorted({*history.pending, *later} - {run_date}))


def days_after(history: History, run_date: date, replay_later: bool) -> tuple[date, ...]:
    """After the run's own merges: the day itself when it is still pending (nothing of it was
    new), then, unless deferred to a later run, the pending days after it."""
    return tuple(
        day for day in history.pending if day == run_date or (replay_later and day > run_date)
    )


def mark_loaded(conn: psycopg.Connection, run_date: date, load_id: str) -> None:
    params = {"run_date": run_date, "load_id": load_id}
    conn.execute(postgres.read_sql("meta/warehouse_day_record.sql"), params)


@task(**transient_retries(), cache_policy=NO_CACHE)
def unfinished_replay(run_date: date) -> tuple[date, ...]:
    """The pending days before run_date (see the module's docstring)."""
    with postgres.connect() as conn:
        return pending_before(read_history(conn), run_date)


@task(**transient_retries(), cache_policy=NO_CACHE)
def days_to_lock(run_date: date, merges: bool) -> tuple[date, ...]:
    with postgres.connect() as conn:
        return replay_scope(read_history(conn), run_date, merges)


@task(**transient_retries(), cache_policy=NO_CACHE)
def later_days(run_date: date, replay_later: bool = True) -> tuple[date, ...]:
    with postgres.connect() as conn:
        days = days_after(read_history(conn), run_date, replay_later)
    if days:
        get_run_logger().info(
            "loading again from their archived exports, in date order: %s",
            ", ".join(map(str, days)),
        )
    return days


@task(**transient_retries(), cache_policy=NO_CACHE, tags=["warehouse"])
def rewind_warehouse(from_day: date) -> RewindCounts:
    """One transaction: the warehouse as it was before from_day (see rewind_history)."""
    with postgres.connect(application_name="pdbi-rewind") as conn:
        counts = rewind_history(conn, from_day)
    if counts.removed or counts.reopened or counts.facts or counts.references:
        get_run_logger().info(
            "rewound to before %s: %d versions removed, %d reopened, %d fact rows and %d "
            "clients or plans removed",
            from_day, counts.removed, counts.reopened, counts.facts, counts.references,
        )  # fmt: skip
    return counts


@task(**transient_retries(), cache_policy=NO_CACHE)
def record_loaded(run_date: date, load_id: str, merged: bool = True) -> None:
    """The day's merges committed: dw holds its load (meta.warehouse_days). Written after the
    manifest: a run killed between the two leaves the day pending, and the next run loads it
    again from its archive. Nothing merged, nothing to record."""
    if merged:
        with postgres.connect() as conn:
            mark_loaded(conn, run_date, load_id)
