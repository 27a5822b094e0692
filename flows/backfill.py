"""Backfill: one daily run per day of a range, in date order (type-2 history needs it)."""

from __future__ import annotations

from prefect import flow

from flows.daily import daily_pipeline
from tasks.run_date import RunDate, days_between
from tasks.summary import RunSummary


@flow(name="backfill", flow_run_name="backfill-{start}-to-{end}")
def backfill(start: RunDate, end: RunDate) -> list[RunSummary]:
    """Each day is a daily-pipeline subflow; the first failure stops the backfill, so no day
    is loaded on top of a missing one."""
    return [daily_pipeline(day) for day in days_between(start, end)]
