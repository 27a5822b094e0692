"""The Spark job as one Prefect task: lake files in, local CSVs out (published separately)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from tasks.analytics.job import run_job
from tasks.errors import DataError
from tasks.resources.lake import get_lake
from tasks.resources.spark import spark_session
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


def analyse_day(run_date: date, students_name: str) -> dict[str, dict]:
    """Run the job over the day's events and the exported students; outputs stay local."""
    lake, scratch = get_lake(), scratch_dir(run_date)
    events = lake.local_paths("raw", day_event_files(run_date), scratch / "inputs")
    (students,) = lake.local_paths("temp", [students_name], scratch / "inputs")
    with spark_session(f"pdbi-analytics-{run_date.isoformat()}") as spark:
        return run_job(spark, events, students, scratch / "analytics")


@task(cache_policy=NO_CACHE, tags=["spark"])
def run_analytics(run_date: date, students_name: str) -> dict[str, dict]:
    """No retries: a Spark failure here is a bug or bad input, not a blip."""
    outputs = analyse_day(run_date, students_name)
    get_run_logger().info("spark outputs: %s", {k: v.get("rows") for k, v in outputs.items()})
    return outputs
