"""The Spark job as one Prefect task: lake files in, local CSVs out (published separately)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from tasks.analytics.job import run_job
from tasks.errors import DataError
from tasks.resources import postgres
from tasks.resources.lake import get_lake
from tasks.resources.spark import read_warehouse_students, spark_session
from tasks.settings import get_settings


def scratch_dir(run_date: date) -> Path:
    """Local working space of one run: Spark's output before publishing, lake copies."""
    return get_settings().data_dir.resolve() / "work" / run_date.isoformat()


def day_event_files(run_date: date) -> list[str]:
    lake = get_lake()
    names = lake.list("raw", f"{run_date.isoformat()}/part-*.json")
    if not names:
        raise DataError(
            f"raw/{run_date.isoformat()}/ holds no part-*.json event files in the lake at "
            f"{lake.url}; put the day's events there (or run `pdbi generate`)."
        )
    return names


def analyse_day(
    run_date: date, students_name: str | None, inputs: str | None = None
) -> dict[str, dict]:
    """Run the job over the day's events and the warehouse's students; outputs stay local.

    students_name is the Parquet export in the temp zone, or None to read the warehouse by JDBC
    (see tasks/warehouse/export.py); either way the students as of run_date. One SparkSession
    for the run, stopped whatever happens.
    """
    lake, scratch = get_lake(), scratch_dir(run_date)
    events = lake.local_paths("raw", day_event_files(run_date), scratch / "inputs")
    students = (
        lake.local_paths("temp", [students_name], scratch / "inputs")[0]
        if students_name is not None
        else None
    )
    with spark_session(f"pdbi-analytics-{run_date.isoformat()}") as spark:
        source = students or read_warehouse_students(spark, postgres.database_url(), run_date)
        return run_job(spark, events, source, scratch / "analytics", run_date, inputs)


@task(cache_policy=NO_CACHE, tags=["spark"])
def run_analytics(
    run_date: date, students_name: str | None, inputs: str | None = None
) -> dict[str, dict]:
    """No retries: a Spark failure here is a bug or bad input, not a blip. `inputs` (the
    digest of what the outputs are made from) goes into the manifest."""
    outputs = analyse_day(run_date, students_name, inputs)
    logger = get_run_logger()
    logger.info("spark outputs: %s", {k: v.get("rows") for k, v in outputs.items()})
    logger.info("events: %s", outputs["_events"])
    return outputs
