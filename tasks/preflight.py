"""Checks that fail a run in its first second, with one sentence, instead of minutes in."""

from __future__ import annotations

from datetime import date

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from tasks.entities import SOURCES
from tasks.errors import ConfigError, DataError
from tasks.resources import postgres
from tasks.resources.lake import Lake, get_lake
from tasks.resources.spark import check_java, work_root
from tasks.run_record import record_run_started
from tasks.settings import get_settings


def check_prerequisites() -> list[str]:
    """Lake, database (with migrations applied), Java and where Spark works; returns one line
    per component. Once `pdbi db init` has run and no migration is pending, nothing here
    changes the database's schema, so the nightly login needs no DDL rights.
    The lake must exist: a mistyped PDBI_LAKE_URL is said so before any zone is created in it
    (`pdbi generate` creates a new lake)."""
    lake = get_lake()
    if not lake.fs.isdir(lake.root):
        raise ConfigError(
            f"PDBI_LAKE_URL: the lake {lake.url} does not exist; fix the setting, or write a "
            "day into it first (pdbi generate --date 2017-11-16 writes a synthetic one)."
        )
    lake.ensure_zones()
    database = postgres.check_database()
    with postgres.connect() as conn:
        applied = postgres.apply_migrations(conn)
        if applied or not postgres.roles_ready(conn):  # else `pdbi db init` did it: no DDL
            postgres.ensure_roles(conn)
    java = check_java()
    work = work_root(lake) or "the lake itself (file://)"
    return [
        f"lake: {lake.url}",
        f"database: {database}" + (f" ({applied_line(applied)})" if applied else ""),
        f"java: {java}",
        f"spark: {get_settings().spark_master}, working in {work}",
    ]


def applied_line(applied: list[str]) -> str:
    """A new database applies every migration: say how many and the range, not 21 names that
    wrap over five lines of a new user's terminal (`pdbi db status` lists each)."""
    if len(applied) <= 2:
        return f"applied {', '.join(applied)}"
    return f"applied {len(applied)} migrations, {applied[0]} to {applied[-1]}"


def missing_files(lake: Lake, run_date: date) -> list[str]:
    """The day's exports not in the lake: each BASE A file, and at least one part file of the
    events (or its backup in temp/<day>/raw/, which the run restores)."""
    day = run_date.isoformat()
    missing = []
    for entity in SOURCES.values():
        if lake.list(entity.zone, f"{day}/{entity.file_name}"):
            continue
        if entity.zone == "raw" and lake.list("temp", f"{day}/raw/{entity.file_name}"):
            continue
        missing.append(f"{entity.zone}/{day}/{entity.file_name}")
    return missing


def check_days(days: list[date]) -> None:
    """Every missing export of every day, in one sentence, before anything is loaded."""
    lake = get_lake()
    missing = [name for day in days for name in missing_files(lake, day)]
    if missing:
        which = ", ".join(str(day) for day in days)
        raise DataError(
            f"{len(missing)} exports of {which} are missing from the lake at {lake.url}: "
            f"{', '.join(missing)}; nothing was loaded: write them (pdbi generate writes a "
            "synthetic day) or run another day."
        )


@task(cache_policy=NO_CACHE)
def preflight(run_date: date) -> list[str]:
    """The checks and the day's files, then the run's row in meta.pipeline_runs (the
    migrations are in place)."""
    lines = check_prerequisites()
    check_days([run_date])
    for line in lines:
        get_run_logger().info(line)
    record_run_started(run_date)
    return lines
