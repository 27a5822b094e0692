"""Backfill: one daily run per day of a range, in date order."""

from __future__ import annotations

from prefect import flow

from flows.daily import daily_pipeline
from tasks.run_date import RunDate, days_between
from tasks.summary import RunSummary


@flow(name="backfill", flow_run_name="backfill-{start}-to-{end}")
def backfill(start: RunDate, end: RunDate) -> list[RunSummary]:
    """Each day is a daily-pipeline subflow; the first failure stops the backfill. Days the
    warehouse holds after a backfilled day are loaded again once, by the range's last day (not
    once per day of the range); a backfill stopped early leaves them to the next run."""
    days = days_between(start, end)
    return [daily_pipeline(day, replay_later=day == days[-1]) for day in days]
