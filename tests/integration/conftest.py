"""Integration fixtures: one local Spark session for the whole test session (start costs ~7 s)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pyspark.sql import SparkSession

from tasks.resources.spark import spark_session
from tasks.settings import get_settings


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    """A real local[2] session built by tasks.resources.spark, scratch space in a temp folder."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PDBI_SPARK_MASTER", "local[2]")
        env.setenv("PDBI_SPARK_DRIVER_MEMORY", "1g")
        env.setenv("PDBI_SPARK_SHUFFLE_PARTITIONS", "4")
        env.setenv("PDBI_DATA_DIR", str(tmp_path_factory.mktemp("pdbi-data")))
        get_settings.cache_clear()
        try:
            with spark_session("pdbi-tests") as session:
                yield session
        finally:
            get_settings.cache_clear()
