"""Warehouse: a day's merges (its history rewound first), and the replay of later days."""

from __future__ import annotations

from datetime import date

from prefect import flow
from prefect.futures import wait
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner

from flows.analytics import analyse_and_publish
from flows.stage import load_stage
from tasks.lake.archive import ensure_archived
from tasks.settings import get_settings
from tasks.warehouse.export import export_for_spark
from tasks.warehouse.history import record_loaded, rewind_warehouse
from tasks.warehouse.merge import DIMENSIONS, FACTS, REFERENCE, MergeCounts, merge_step


@flow(name="merge-warehouse", flow_run_name="warehouse-{run_date}")
def _merge_warehouse(run_date: date) -> list[MergeCounts]:
    rewind_warehouse(run_date)
    # the reference dimensions (clients, plans, dates) depend on no other: beside the chain
    reference = merge_step.submit(REFERENCE, run_date)
    try:
        chain = [merge_step(step, run_date) for step in DIMENSIONS if step != REFERENCE]
    finally:
        wait([reference])  # never leave a merge running behind a failure
    dimensions = [reference.result(), *chain]
    facts = [merge_step.submit(step, run_date) for step in FACTS]  # independent tables
    wait(facts)
    return dimensions + [future.result() for future in facts]


def merge_warehouse(run_date: date) -> list[MergeCounts]:
    """The warehouse as it was before the day (nothing to undo for a new latest day), then
    the dimensions (the lookup chain in dependency order, the reference ones beside it), then
    the facts, each in its own transaction, at most PDBI_DB_CONCURRENCY at once. Every merge
    started has finished before a failure is raised."""
    runner = ThreadPoolTaskRunner(max_workers=get_settings().db_concurrency)
    return _merge_warehouse.with_options(task_runner=runner)(run_date)


@flow(name="replay-day", flow_run_name="replay-{day}")
def replay_day(day: date) -> list[MergeCounts]:
    """A day loaded again, as its load took it: its archived exports into stage, its merges,
    the day recorded as loaded, its students exported as of the day, and its partition of the
    analytics zone rebuilt from them (kept when its inputs did not change)."""
    load_id = f"{day.isoformat()}-{(flow_run.get_id() or 'local')[:8]}"
    sources = ensure_archived(day)
    load_stage(day, load_id, sources, archived=True)
    merged = merge_warehouse(day)
    record_loaded(day, load_id)
    students = export_for_spark(day)
    analyse_and_publish(day, students, load_id)
    return merged


def replay_days(days: tuple[date, ...]) -> list[date]:
    """Each day in date order, a replay-day subflow each; the caller holds their run locks."""
    for day in days:
        replay_day(day)
    return list(days)
