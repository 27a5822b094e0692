"""The one place pdbi reads its environment.

Local, Docker and Kubernetes runs differ only in these values, never in code paths. Every
field reads `PDBI_<NAME>` (and a `.env` file); a few also accept the name the wider ecosystem
uses (`DATABASE_URL`, `SPARK_MASTER`, `JAVA_HOME`).
"""

from __future__ import annotations

import os
import re
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from psycopg.conninfo import conninfo_to_dict
from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

from tasks.errors import ConfigError

CASE_STUDY_DATE = date(2017, 11, 16)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PDBI_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        hide_input_in_errors=True,  # a rejected value may hold a password: never echo it
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
    spark_conf: dict[str, str] = Field(
        default_factory=dict,
        description='Any other Spark settings, as JSON: {"spark.executor.memory": "2g", '
        '"spark.jars.packages": "org.apache.hadoop:hadoop-aws:3.4.1"}.',
    )
    spark_work_url: str | None = Field(
        default=None,
        description="Where Spark's working data live when the lake is not a folder Spark reads "
        "(Drive, memory://, s3://): a file:// folder every node mounts, or an s3a://, gs://, "
        "abfss:// URL; the day's inputs are staged there and the outputs published from there. "
        "Unset: a local lake is used in place, any other stages under PDBI_DATA_DIR/spark-work "
        "(a local master only).",
    )
    events_opt_in_checks: bool = Field(
        default=False,
        description="Also run the events suite's opt-in expectations (meta.opt_in: the "
        "uniqueness of uuid, about 70% of a read).",
    )
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
    db_concurrency: int = Field(
        default=2, ge=1, description="Stage loads, and warehouse merges, running at once."
    )
    # 20,000: with 100,000 a load's peak still grew with the file (students, one then four
    # times the rows, by 57 MB; DuckDB's Arrow batches of 100,000 rows), with 20,000 it did
    # not (within 4 MB) and stood about 70 MB lower, at the same speed (tasks/stage/README.md)
    stage_chunk_rows: int = Field(
        default=20_000,
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
    catch_up_days: int = Field(
        default=7,
        ge=0,
        description="A scheduled run (no run date) first runs, in date order, the days of this "
        "many days before its own that have files in the lake and no committed run; 0 turns "
        "catch-up off.",
    )
    accept_days: list[date] = Field(
        default_factory=list,
        description="Days an operator accepts although a guard failed (an empty export of a "
        "type-2 source, or the day's page views matching too few students), as JSON: "
        '["2017-11-18"]. The run goes on, warns, and records the decision in '
        "meta.guard_decisions.",
    )
    min_match_ratio: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="The run stops before publishing when the share of the day's identified "
        "page views whose student the warehouse holds is under this fraction of the median "
        "share of up to 7 earlier published days; 0 turns the guard off.",
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

    @field_validator("database_url", "reporting_url", mode="before")
    @classmethod
    def _postgres_url(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if not isinstance(value, str):
            return value
        if not value.strip():
            return None  # set but empty reads as unset
        return normalise_postgres_url(value, setting_name(info.field_name or ""))

    @field_validator("data_dir", "gdrive_credentials", "jdbc_jar", "java_home", mode="after")
    @classmethod
    def _absolute_path(cls, value: Path | None) -> Path | None:
        """Resolved once, here: every consumer (GX's Data Docs, pgserver, Spark) gets an
        absolute path, whatever the working folder of the process that reads it."""
        return None if value is None else value.expanduser().resolve()

    @field_validator("lake_url", mode="after")
    @classmethod
    def _absolute_lake_folder(cls, value: str) -> str:
        """A lake given as a folder becomes an absolute one; URLs (s3://, gdrive://, file://)
        stay as written."""
        if "://" in value or not value.strip():
            return value
        return str(Path(value.strip()).expanduser().resolve())


# --- database URLs --------------------------------------------------------------------------

ACCEPTED_URLS = (
    "postgresql://user:password@host:5432/database (postgres:// and postgresql+psycopg:// "
    "are read the same) or libpq's key=value form (host=... dbname=... user=...)"
)
_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")  # all read as postgresql://
_SCHEME = re.compile(r"^\s*([A-Za-z][A-Za-z0-9+.\-]*)://", re.ASCII)
_KEYWORDS = re.compile(r"^\s*[A-Za-z_]+\s*=")
_PASSWORD_PARAM = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]+)", re.IGNORECASE)
_URL_IN_TEXT = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>]+")
_USERINFO_SAFE = "%!$&'()*+,;=~"  # RFC 3986 sub-delims; "%" keeps what is already encoded


def mask_url(url: str) -> str:
    """The URL (or key=value string) with any password replaced by ***, safe to print or log;
    also for strings that are not valid URLs at all."""
    url = _PASSWORD_PARAM.sub(r"\1***", url)
    span = _password_span(url)
    return url if span is None else f"{url[: span[0]]}***{url[span[1] :]}"


def mask_text(text: str) -> str:
    """A sentence with the password of every URL in it (and any password=...) masked."""
    return _URL_IN_TEXT.sub(lambda m: mask_url(m.group(0)), _PASSWORD_PARAM.sub(r"\1***", text))


def _password_span(url: str) -> tuple[int, int] | None:
    """Where the password of `[scheme://]user:password@host...` lies: between the first ":"
    after the user and the last "@" (a pasted password may hold "/", "@", "?" or "#"
    unencoded, and all of it must be hidden)."""
    scheme = _SCHEME.match(url)
    start, at = (scheme.end() if scheme else 0), url.rfind("@")
    colon = url.find(":", start, at)
    if at < 0 or colon < 0 or re.search(r"[/?#\s]", url[start:colon]):
        return None
    return colon + 1, at


def setting_name(field: str) -> str:
    """The environment variable a field was read from, as the operator wrote it."""
    name = f"PDBI_{field.upper()}"
    if field == "database_url" and name not in os.environ and "DATABASE_URL" in os.environ:
        return "DATABASE_URL"
    return name


def normalise_postgres_url(value: str, name: str = "PDBI_DATABASE_URL") -> str:
    """One spelling for every accepted form: postgresql://, with user and password
    percent-encoded as libpq expects (a pasted "p@ss/word" would otherwise be read as part of
    the host or database, and echoed in the errors about them); key=value strings as given.
    Anything libpq cannot read fails with one sentence naming the setting, password masked."""
    value = value.strip()
    scheme = _SCHEME.match(value)
    if scheme is None and _KEYWORDS.match(value):
        normalised = value
    elif scheme is not None and scheme.group(1).lower() in _SCHEMES:
        rest = value[scheme.end() :]
        user_info, at, host_part = rest.rpartition("@")
        if at:
            user, colon, password = user_info.partition(":")
            user_info = _encode(user) + (colon and ":" + _encode(password))
        normalised = f"postgresql://{user_info}{at}{host_part}"
    else:
        raise _url_error(
            f"{name} is not a PostgreSQL URL ({mask_url(value)!r}); use {ACCEPTED_URLS}."
        )
    try:
        conninfo_to_dict(normalised)
    except Exception as exc:  # psycopg.ProgrammingError: libpq cannot read it
        reason = _masked_reason(exc, normalised) if scheme else "libpq cannot read it"
        raise _url_error(
            f"{name} cannot be read ({mask_url(value)!r}: {reason}); use {ACCEPTED_URLS}."
        ) from None
    return normalised


def _encode(part: str) -> str:
    part = re.sub(r"%(?![0-9A-Fa-f]{2})", "%25", part)  # a lone "%" is a character
    return quote(part, safe=_USERINFO_SAFE)


def _masked_reason(exc: Exception, url: str) -> str:
    """libpq's first line, with the URL's password (encoded or not) masked."""
    reason = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    span = _password_span(url)
    if span is not None and span[1] > span[0]:
        secret = url[span[0] : span[1]]
        for text in {secret, unquote(secret)}:
            reason = reason.replace(text, "***")
    return mask_url(reason.rstrip("."))


def _url_error(message: str) -> PydanticCustomError:
    return PydanticCustomError("pdbi_setting", message)  # type: ignore[arg-type]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read the environment once per process; tests call `get_settings.cache_clear()`.

    A setting that cannot be used is a ConfigError of one sentence per setting, naming it and
    never echoing its value (it may hold a password)."""
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigError(" ".join(_sentence(error) for error in exc.errors())) from None
    except SettingsError as exc:  # a JSON setting that is not JSON
        raise ConfigError(f"{exc}; write it as JSON, for example {{}}.") from None


def _sentence(error: Any) -> str:
    if error["type"] == "pdbi_setting":
        return error["msg"]
    field = str(error["loc"][0]) if error["loc"] else ""
    return f"{setting_name(field)}: {error['msg'].rstrip('.')}."
