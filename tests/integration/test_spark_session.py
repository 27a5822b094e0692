"""The session tasks.resources.spark starts: its driver JVM runs the parallel collector and the
older, cheaper inlining limits (a cold batch job's throughput, measured in BENCHMARKS.md), and
PDBI_SPARK_CONF can still change them. A session already running in the process is the
caller's: pdbi works beside it and leaves it running."""

from __future__ import annotations

import logging
from pathlib import Path

import psutil
import pytest
from pyspark.sql import SparkSession

from tasks.resources.spark import JVM_OPTIONS, session_conf, spark_session
from tasks.settings import Settings, get_settings

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
    # the older inlining limits too (a JVM given a flag it does not know would not start)
    assert {"-XX:MaxInlineLevel=9", "-XX:InlineSmallCode=1000"} <= set(arguments)
    assert spark.range(1000).selectExpr("sum(id)").first()[0] == 999 * 1000 // 2


def test_pdbi_spark_conf_can_choose_another_collector(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        spark_conf={"spark.driver.extraJavaOptions": "-XX:+UseG1GC"},
    )
    conf = session_conf("pdbi-tests", settings)
    assert conf.get("spark.driver.extraJavaOptions") == "-XX:+UseG1GC"
    assert conf.get("spark.executor.extraJavaOptions") == JVM_OPTIONS


def test_a_running_session_is_worked_beside_and_left_running(
    spark: SparkSession, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The caller's session keeps its SQL settings and keeps running; pdbi's session has pdbi's
    SQL settings, and the settings a running context cannot take are named in the log."""
    zone, partitions = "America/Sao_Paulo", "3"
    before = {k: spark.conf.get(k) for k in ("spark.sql.session.timeZone",
                                             "spark.sql.shuffle.partitions")}  # fmt: skip
    spark.conf.set("spark.sql.session.timeZone", zone)
    spark.conf.set("spark.sql.shuffle.partitions", partitions)
    monkeypatch.setenv("PDBI_SPARK_SHUFFLE_PARTITIONS", "6")
    monkeypatch.setenv("PDBI_SPARK_DRIVER_MEMORY", "3g")  # the fixture's context has 1g
    get_settings.cache_clear()
    try:
        with caplog.at_level(logging.WARNING), spark_session("pdbi-beside") as mine:
            assert mine is not spark
            assert mine.sparkContext is spark.sparkContext
            assert mine.conf.get("spark.sql.session.timeZone") == "UTC"
            assert mine.conf.get("spark.sql.shuffle.partitions") == "6"
            mine.conf.set("spark.sql.shuffle.partitions", "7")
            assert mine.range(10).selectExpr("sum(id)").first()[0] == 45
        assert spark.conf.get("spark.sql.session.timeZone") == zone
        assert spark.conf.get("spark.sql.shuffle.partitions") == partitions
        assert spark.range(5).count() == 5  # not stopped
        warned = [r.getMessage() for r in caplog.records if "already running" in r.getMessage()]
        assert len(warned) == 1, warned
        assert "spark.driver.memory" in warned[0]
        assert "spark.sql." not in warned[0]  # those it did apply
    finally:
        for key, value in before.items():
            spark.conf.set(key, value)
        monkeypatch.undo()
        get_settings.cache_clear()
