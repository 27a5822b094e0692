"""Checks that fail a run in its first second, with one sentence, instead of minutes in."""

from __future__ import annotations

from datetime import date

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from tasks.resources import postgres
from tasks.resources.lake import get_lake
from tasks.resources.spark import check_java
from tasks.run_record import record_run_started


def check_prerequisites() -> list[str]:
    """Lake, database (with migrations applied) and Java; returns one line per component."""
    lake = get_lake()
    lake.ensure_zones()
    database = postgres.check_database()
    with postgres.connect() as conn:
        applied = postgres.apply_migrations(conn)
        postgres.ensure_roles(conn)
    java = check_java()
    return [
        f"lake: {lake.url}",
        f"database: {database}" + (f" (applied {', '.join(applied)})" if applied else ""),
        f"java: {java}",
    ]


@task(cache_policy=NO_CACHE)
def preflight(run_date: date) -> list[str]:
    """The checks, then the run's row in meta.pipeline_runs (the migrations are in place)."""
    lines = check_prerequisites()
    for line in lines:
        get_run_logger().info(line)
    record_run_started(run_date)
    return lines
