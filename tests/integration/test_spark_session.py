"""The session tasks.resources.spark starts: its driver JVM runs the parallel collector (a batch
job's throughput, measured in BENCHMARKS.md), and PDBI_SPARK_CONF can still change it."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest
from pyspark.sql import SparkSession

from tasks.resources.spark import session_conf
from tasks.settings import Settings

pytestmark = pytest.mark.integration


def command_lines() -> list[list[str]]:
    """The arguments of every process under this one (the driver JVM is a child of
    spark-submit's launcher, itself a child of this process); a process that ended since it
    was listed has none."""
    found = []
    for process in psutil.Process().children(recursive=True):
        try:
            found.append(process.cmdline())
        except psutil.Error:
            continue
    return found


def test_the_driver_jvm_runs_the_parallel_collector(spark: SparkSession) -> None:
    drivers = [
        arguments
        for arguments in command_lines()
        if "org.apache.spark.deploy.SparkSubmit" in arguments
    ]
    assert len(drivers) == 1, drivers
    (arguments,) = drivers
    assert "-XX:+UseParallelGC" in arguments
    assert "-XX:+UseG1GC" not in arguments
    assert spark.range(1000).selectExpr("sum(id)").first()[0] == 999 * 1000 // 2


def test_pdbi_spark_conf_can_choose_another_collector(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        spark_conf={"spark.driver.extraJavaOptions": "-XX:+UseG1GC"},
    )
    conf = session_conf("pdbi-tests", settings)
    assert conf.get("spark.driver.extraJavaOptions") == "-XX:+UseG1GC"
    assert conf.get("spark.executor.extraJavaOptions") == "-XX:+UseParallelGC"
