"""The run date: validated before anything runs, defaulted for scheduled runs, named in the UI."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AfterValidator

from tasks.settings import get_settings


def today() -> date:
    """Today in the platform's time zone (PDBI_TIMEZONE), not the worker's."""
    return datetime.now(ZoneInfo(get_settings().timezone)).date()


def not_in_future(value: date) -> date:
    """A day that has not happened has no exports: refuse it before any step runs."""
    if value > today():
        raise ValueError(
            f"run_date {value} is in the future (today is {today()} in {get_settings().timezone})"
        )
    return value


# Prefect validates flow parameters with pydantic: "2017-13-45" or a future day fails the run
# before its first task, and the deployment's parameter schema says "date".
RunDate = Annotated[date, AfterValidator(not_in_future)]


def scheduled_day(scheduled_start: datetime | None) -> date:
    """A run with no run date (the nightly schedule) processes the day before its scheduled
    start, in PDBI_TIMEZONE: the 03:00 run of the 17th loads the 16th."""
    zone = ZoneInfo(get_settings().timezone)
    start = scheduled_start.astimezone(zone) if scheduled_start else datetime.now(zone)
    return start.date() - timedelta(days=1)


def as_date(value: object) -> date | None:
    """A run_date parameter as Prefect's runtime holds it (a date, or ISO text)."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def days_between(start: date, end: date) -> list[date]:
    """Every day from start to end, both included, in order."""
    if start > end:
        raise ValueError(f"--from {start} is after --to {end}: give the earlier day first")
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]
