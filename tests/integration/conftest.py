"""Integration fixtures: one local Spark session per test module, and one run of the analytics
job over the hand-written day per module, shared by that module's tests.

Per module, not per session: a flow run in the same process adopts an active session (and
stops it when done), so a session kept alive across modules would leak its settings into the
next module's runs and be stopped under the next module's tests. pyspark keeps one JVM per
process, so a module's session costs a second or two to start, not the JVM's seven."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.sql import SparkSession

from tasks.analytics.job import run_job
from tasks.resources.spark import spark_session
from tasks.resources.spark_work import as_url
from tasks.settings import get_settings
from tests.integration.analytics_day import EVENT_LINES, STUDENTS

# Debian's libpostgresql-jdbc-java; the JDBC tests need it (CI installs it, see .ci).
JDBC_JAR = Path(os.environ.get("PDBI_TEST_JDBC_JAR", "/usr/share/java/postgresql.jar"))
ANALYTICS_DAY = date(2017, 11, 16)


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    """A real local[2] session built by tasks.resources.spark, scratch space in a temp folder,
    with the PostgreSQL JDBC driver on its class path when the jar is installed."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PDBI_SPARK_MASTER", "local[2]")
        env.setenv("PDBI_SPARK_DRIVER_MEMORY", "1g")
        env.setenv("PDBI_SPARK_SHUFFLE_PARTITIONS", "4")
        env.setenv("PDBI_DATA_DIR", str(tmp_path_factory.mktemp("pdbi-data")))
        if JDBC_JAR.is_file():
            env.setenv("PDBI_JDBC_JAR", str(JDBC_JAR))
        get_settings.cache_clear()
        try:
            with spark_session("pdbi-tests") as session:
                yield session
        finally:
            get_settings.cache_clear()


# the hand-written day is a quarter unusable on purpose: its threshold is raised to let it load
LENIENT = {"PDBI_REJECT_THRESHOLDS": '{"events": 0.5}'}


@pytest.fixture(scope="module")
def analytics_inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The hand-written day as two part files (a blank line in the first, which is no event,
    but counts as a line) and the warehouse's students as Parquet, as the export writes them."""
    folder = tmp_path_factory.mktemp("analytics-in")
    half = len(EVENT_LINES) // 2
    first = [*EVENT_LINES[:2], "", *EVENT_LINES[2:half]]
    (folder / "part-00000.json").write_text("\n".join(first) + "\n", "utf-8")
    (folder / "part-00001.json").write_text("\n".join(EVENT_LINES[half:]) + "\n", "utf-8")
    columns = ("student_id", "state", "city", "university", "course")
    table = pa.table({c: pa.array([s[c] for s in STUDENTS], pa.string()) for c in columns})
    pq.write_table(table, folder / "students.parquet")
    return {
        "events": [as_url(folder / n) for n in ("part-00000.json", "part-00001.json")],
        "glob": as_url(folder / "part-*.json"),
        "students": as_url(folder / "students.parquet"),
        "lines": {"part-00000.json": first, "part-00001.json": EVENT_LINES[half:]},
    }


@pytest.fixture(scope="module")
def analytics_run(
    spark: SparkSession, analytics_inputs: dict, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """One run of the job over the hand-written day; tests read its files, never write them."""
    out = tmp_path_factory.mktemp("analytics-out")
    inputs = analytics_inputs
    with pytest.MonkeyPatch.context() as env:
        for name, value in LENIENT.items():
            env.setenv(name, value)
        get_settings.cache_clear()
        try:
            return run_job(
                spark, inputs["events"], inputs["students"], out, ANALYTICS_DAY,
                source_prefix="raw/2017-11-16/", load_id="load-1",
            )  # fmt: skip
        finally:
            get_settings.cache_clear()
