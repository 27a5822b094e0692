"""The session tasks.resources.spark starts: its driver JVM runs the parallel collector (a batch
job's throughput, measured in BENCHMARKS.md), and PDBI_SPARK_CONF can still change it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from tasks.resources.spark import session_conf
from tasks.settings import Settings

pytestmark = pytest.mark.integration


def descendants(pid: int) -> list[int]:
    """Process ids under `pid`, read from /proc (the driver JVM is a child of spark-submit's
    launcher, itself a child of this process)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended while we looked
            continue
        parents[int(stat.parent.name)] = int(text.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def command_line(pid: int) -> list[str]:
    """The process's arguments; none when it ended since it was listed."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    except OSError:
        return []


def test_the_driver_jvm_runs_the_parallel_collector(spark: SparkSession) -> None:
    drivers = [
        arguments
        for arguments in map(command_line, descendants(os.getpid()))
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
