"""The one place pdbi reads its environment.

Local, Docker and Kubernetes runs differ only in these values, never in code paths. Every
field reads `PDBI_<NAME>` (and a `.env` file); a few also accept the name the wider ecosystem
uses (`DATABASE_URL`, `SPARK_MASTER`, `JAVA_HOME`).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

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
    loader_role: str = Field(
        default="pdbi_loader",
        min_length=1,
        max_length=63,
        description="Role `pdbi db init` creates to own the stage, dw and meta schemas.",
    )
    reporting_role: str = Field(
        default="pdbi_reporting",
        min_length=1,
        max_length=63,
        description="Read-only role `pdbi db init` creates; the dashboard reads as it.",
    )
    reporting_url: SecretStr | None = Field(
        default=None,
        description="PostgreSQL URL the dashboard connects with (a login of the reporting role). "
        "Unset: the embedded database is entered as the reporting role itself, a configured one "
        "with PDBI_DATABASE_URL followed by SET ROLE to the reporting role.",
    )
    data_dir: Path = Field(
        default=Path("data"),
        description="Local working folder: the embedded database and Spark scratch space.",
    )
    lake_url: str = Field(
        default="data/lake",
        description="Root of the data lake: a local folder or any fsspec URL (s3://, memory://, "
        "gdrive://<root-folder-id>).",
    )
    lake_options: dict[str, Any] = Field(
        default_factory=dict,
        description='fsspec storage options as JSON, e.g. {"endpoint_url": "http://minio:9000"}; '
        "keep credentials in the backend's own variables (AWS_ACCESS_KEY_ID ...).",
    )
    lake_remove_raw: bool = Field(
        default=False,
        description="After a run committed and backed up its raw files to temp/<day>/raw/, "
        "remove them from raw/.",
    )
    gdrive_credentials: Path | None = Field(
        default=None,
        description="gdrive:// lakes: a service-account JSON key or saved OAuth credentials.",
    )
    gdrive_secret_block: str | None = Field(
        default=None,
        description="gdrive:// lakes: name of a Prefect Secret block holding that JSON instead.",
    )
    gdrive_api_endpoint: str | None = Field(
        default=None,
        description="Drive API base URL instead of Google's (an emulator in tests).",
    )
    gdrive_max_attempts: int = Field(
        default=6, ge=1, description="Tries per Drive call (429, 5xx, dropped connections)."
    )
    gdrive_retry_base_seconds: float = Field(
        default=1.0, ge=0, description="First backoff delay; doubles per try, with jitter."
    )
    gdrive_timeout_seconds: float = Field(
        default=60, gt=0, description="Socket timeout of one Drive request."
    )
    gdrive_chunk_kib: int = Field(
        default=8192,
        ge=256,
        multiple_of=256,
        description="Resumable upload and download chunk, KiB (Drive wants multiples of 256).",
    )
    spark_master: str = Field(
        default="local[*]",
        validation_alias=AliasChoices("PDBI_SPARK_MASTER", "SPARK_MASTER"),
        description="Spark master: local[*], spark://host:7077, k8s://..., yarn.",
    )
    spark_driver_memory: str = Field(default="4g", description="spark.driver.memory")
    spark_shuffle_partitions: int = Field(default=8, description="spark.sql.shuffle.partitions")
    jdbc_jar: Path | None = Field(
        default=None,
        description="PostgreSQL JDBC driver jar (Debian: /usr/share/java/postgresql.jar); set, "
        "Spark reads dw.student_flat by JDBC over TCP instead of the Parquet export.",
    )
    java_home: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("PDBI_JAVA_HOME", "JAVA_HOME"),
        description="Java 17+ installation for Spark; unset looks for `java` on PATH.",
    )
    run_date: date = Field(default_factory=date.today, description="The day a run processes.")
    db_concurrency: int = Field(default=2, ge=1, description="Stage loads running at once.")
    stage_chunk_rows: int = Field(
        default=100_000,
        ge=1,
        description="Records a stage load parses into Arrow and copies into its landing table "
        "at a time: its memory bound (a file is never held whole).",
    )
    db_connect_wait_seconds: float = Field(
        default=20,
        ge=0,
        description="How long a step keeps trying to connect while the database restarts or "
        "fails over, before its task fails (and is retried); the preflight never waits.",
    )
    timezone: str = Field(
        default="America/Sao_Paulo",
        description="The platform's day: a scheduled run given no run date processes the day "
        "before its scheduled start, in this zone.",
    )
    task_retries: int = Field(
        default=3, ge=0, description="Retries of an I/O task after a transient failure."
    )
    retry_delay_seconds: float = Field(
        default=2.0,
        ge=0,
        description="First retry delay of an I/O task; doubles per retry, with jitter. Read when "
        "the task modules are imported (process start).",
    )
    run_lock_timeout_seconds: float = Field(
        default=600,
        ge=0,
        description="How long a run waits for another run of the same day to finish before it "
        "refuses to start.",
    )
    image: str = Field(
        default="pdbi:0.1.0",
        description="Container image of the Docker and Kubernetes deployments "
        "(deployments/Dockerfile), with its registry in a cloud: registry.example.com/pdbi:0.1.0.",
    )
    docs_url: str | None = Field(
        default=None,
        description="Where operators open the Data Docs (the run's link artifact); unset: the "
        "dashboard's /reports/ route on PDBI_SERVE_ADDRESS:PDBI_SERVE_PORT.",
    )
    reject_threshold: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description="Share of a file's rows the suite may reject before the load fails, for "
        "suites that declare none (see expectations/README.md).",
    )
    reject_thresholds: dict[str, float] = Field(
        default_factory=dict,
        description='Per-source overrides of the reject threshold, as JSON: {"sessions": 0.1}.',
    )
    serve_address: str = Field(default="127.0.0.1", description="Address `pdbi serve` binds.")
    serve_port: int = Field(default=5006, description="Port `pdbi serve` listens on.")
    dashboard_reload_seconds: float = Field(
        default=30,
        ge=0,
        description="How often an open dashboard looks for a newer analytics/manifest.json and "
        "reloads its data; 0 turns it off.",
    )
    dashboard_download_rows: int = Field(
        default=100_000, ge=0, description="Most rows the Students page offers to download."
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read the environment once per process; tests call `get_settings.cache_clear()`."""
    return Settings()
