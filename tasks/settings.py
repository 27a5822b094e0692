"""The one place pdbi reads its environment.

Local, Docker and Kubernetes runs differ only in these values, never in code paths. Every
field reads `PDBI_<NAME>` (and a `.env` file); a few also accept the name the wider ecosystem
uses (`DATABASE_URL`, `SPARK_MASTER`, `JAVA_HOME`).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

CASE_STUDY_DATE = date(2017, 11, 16)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PDBI_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("PDBI_DATABASE_URL", "DATABASE_URL"),
        description="PostgreSQL URL; unset starts the embedded PostgreSQL (pgserver).",
    )
    data_dir: Path = Field(
        default=Path("data"),
        description="Local working folder: the embedded database and Spark scratch space.",
    )
    lake_url: str = Field(
        default="data/lake",
        description="Root of the data lake: a local folder or any fsspec URL (s3://, memory://).",
    )
    spark_master: str = Field(
        default="local[*]",
        validation_alias=AliasChoices("PDBI_SPARK_MASTER", "SPARK_MASTER"),
        description="Spark master: local[*], spark://host:7077, k8s://..., yarn.",
    )
    spark_driver_memory: str = Field(default="4g", description="spark.driver.memory")
    spark_shuffle_partitions: int = Field(default=8, description="spark.sql.shuffle.partitions")
    java_home: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("PDBI_JAVA_HOME", "JAVA_HOME"),
        description="Java 17+ installation for Spark; unset looks for `java` on PATH.",
    )
    run_date: date = Field(default_factory=date.today, description="The day a run processes.")
    db_concurrency: int = Field(default=2, ge=1, description="Stage loads running at once.")
    serve_address: str = Field(default="127.0.0.1", description="Address `pdbi serve` binds.")
    serve_port: int = Field(default=5006, description="Port `pdbi serve` listens on.")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read the environment once per process; tests call `get_settings.cache_clear()`."""
    return Settings()
