"""Catch-up: the nightly run first loads the earlier days it missed.

A night that failed (a database outage, an export that came late or empty) leaves its day with
files in the lake and no committed run. The next scheduled run looks back PDBI_CATCH_UP_DAYS
days before its own and runs each such day first, in date order, each as a run of its own; the
warehouse replays what those days change (tasks/warehouse/history.py). An operator usually has
nothing to do: a day whose run failed on bad input runs again once the input is fixed.
"""

from __future__ import annotations

from datetime import date, timedelta

import psycopg
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from tasks.entities import SOURCES
from tasks.errors import PdbiError
from tasks.resources import postgres
from tasks.resources.lake import Lake, get_lake
from tasks.retry import transient_retries
from tasks.settings import get_settings


class CatchUpFailed(PdbiError):
    """The day itself ran, but an earlier day the run caught up failed."""


def window(before: date, days: int) -> list[date]:
    """The days of the look-back window, oldest first: before itself is not in it."""
    return [before - timedelta(days=n) for n in range(days, 0, -1)]


def has_files(lake: Lake, day: date) -> bool:
    """Whether any source has a file for the day in the lake."""
    zones = {entity.zone for entity in SOURCES.values()}
    return any(lake.list(zone, f"{day.isoformat()}/*") for zone in sorted(zones))


def missed_days(conn: psycopg.Connection, lake: Lake, before: date, days: int) -> list[date]:
    """The days of the window with files in the lake and no committed run, in date order."""
    candidates = window(before, days)
    if not candidates:
        return []
    params = {"first": candidates[0], "last": candidates[-1]}
    rows = postgres.fetch_all(conn, postgres.read_sql("meta/manifest_days.sql"), params)
    committed = {day for (day,) in rows}
    return [day for day in candidates if day not in committed and has_files(lake, day)]


@task(**transient_retries(), cache_policy=NO_CACHE)
def find_missed_days(before: date) -> list[date]:
    """Earlier days the nightly run loads first (PDBI_CATCH_UP_DAYS before `before`)."""
    with postgres.connect() as conn:
        missed = missed_days(conn, get_lake(), before, get_settings().catch_up_days)
    if missed:
        get_run_logger().warning(
            "catching up %d earlier days with files and no committed run: %s",
            len(missed), ", ".join(map(str, missed)),
        )  # fmt: skip
    return missed


@task(cache_policy=NO_CACHE)
def report_catch_up(day: date, failed: dict[str, str]) -> None:
    """Fail the nightly run, once its own day is done, when a day it caught up failed."""
    if failed:
        listed = "; ".join(f"{missed}: {message}" for missed, message in failed.items())
        raise CatchUpFailed(
            f"{day} was loaded, but {len(failed)} earlier day(s) it caught up failed ({listed}). "
            "Fix what the message names: the next nightly run catches the day up again "
            f"(or run it now with `pdbi run --date`)."
        )
