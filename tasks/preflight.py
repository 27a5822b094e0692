"""Checks that fail a run in its first second, with one sentence, instead of minutes in."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from tasks.resources import postgres
from tasks.resources.lake import get_lake
from tasks.resources.spark import check_java, work_root
from tasks.settings import get_settings


def check_prerequisites() -> list[str]:
    """Lake, database (with migrations applied), Java and where Spark works; returns one line
    per component."""
    lake = get_lake()
    lake.ensure_zones()
    database = postgres.check_database()
    with postgres.connect() as conn:
        applied = postgres.apply_migrations(conn)
        postgres.ensure_roles(conn)
    java = check_java()
    work = work_root(lake) or "the lake itself (file://)"
    return [
        f"lake: {lake.url}",
        f"database: {database}" + (f" (applied {', '.join(applied)})" if applied else ""),
        f"java: {java}",
        f"spark: {get_settings().spark_master}, working in {work}",
    ]


@task(cache_policy=NO_CACHE)
def preflight() -> list[str]:
    lines = check_prerequisites()
    for line in lines:
        get_run_logger().info(line)
    return lines
