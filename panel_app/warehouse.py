"""What the warehouse and Prefect know: validations, rejected rows and pipeline runs.

Read-only, in short transactions through tasks/resources/postgres.py, cached for a little while
(`pn.cache(ttl=...)`) so that many open dashboards cost the database one query each per
period. Any failure to reach a source becomes `Unavailable`, whose message the page shows
instead of the tables; nothing here can stop a page from drawing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pandas as pd
import panel as pn
import psycopg

from tasks.errors import PdbiError
from tasks.resources import postgres
from tasks.settings import get_settings

FLOW_NAME = "daily-pipeline"
HISTORY_DAYS = 30  # run dates the rejected-rows chart covers
RUNS_SHOWN = 20
ACCEPTED_SHOWN = 30  # accepted guard decisions the Data quality page lists
CACHE_SECONDS = 30
RUN_COMMAND = "pdbi run --date 2017-11-16"


class Unavailable(Exception):
    """A source could not be read; the message says why and what to do, in one sentence."""


@dataclass(frozen=True)
class Quality:
    latest: pd.DataFrame  # validation_latest.sql: one row per suite
    rejected: pd.DataFrame  # rejected_by_run.sql: (run_date, entity) -> rows
    failed: pd.DataFrame  # failed_expectations.sql: the latest day's failing checks


@dataclass(frozen=True)
class Runs:
    source: str  # "Prefect API" or "warehouse (meta.pipeline_runs)"
    frame: pd.DataFrame  # run, run_date, state, started_at, finished_at, duration
    note: str = ""  # why the first choice of source was not used


def _no_warehouse_reason() -> str | None:
    """Why there is no warehouse to read, without starting one: the dashboard never launches
    the embedded PostgreSQL (pdbi run does, and leaves it running)."""
    settings = get_settings()
    if settings.database_url is not None or settings.reporting_url is not None:
        return None
    if (settings.data_dir / "pgdata" / "postmaster.pid").exists():
        return None
    return (
        "No warehouse to read: PDBI_DATABASE_URL is unset and the embedded PostgreSQL is not "
        f"running. Run `{RUN_COMMAND}` (it starts it), or set PDBI_DATABASE_URL."
    )


def read_queries(queries: dict[str, tuple[str, dict]]) -> dict[str, pd.DataFrame]:
    """Run sql/ files in one read-only transaction; each result as a frame."""
    frames: dict[str, pd.DataFrame] = {}
    try:
        reason = _no_warehouse_reason()
        if reason:
            raise Unavailable(reason)
        with postgres.connect_reporting() as conn:  # the read-only reporting role
            for name, (path, params) in queries.items():
                with conn.cursor() as cur:
                    cur.execute(postgres.read_sql(path), params or None)
                    columns = [column.name for column in cur.description or []]
                    frames[name] = pd.DataFrame(cur.fetchall(), columns=columns)
    except psycopg.errors.UndefinedTable as exc:
        raise Unavailable(
            f"The warehouse lacks a table the dashboard reads ({_first_line(exc)}); "
            "run `pdbi db init` to apply the migrations."
        ) from None
    except (psycopg.Error, PdbiError) as exc:
        raise Unavailable(f"The warehouse could not be read: {_first_line(exc)}.") from None
    return frames


def _first_line(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0].rstrip(".") if lines else type(exc).__name__


@pn.cache(ttl=CACHE_SECONDS)
def quality_data() -> Quality:
    """The Data quality page's three frames, from meta.validation_results."""
    frames = read_queries(
        {
            "latest": ("dashboard/validation_latest.sql", {}),
            "rejected": ("dashboard/rejected_by_run.sql", {"days": HISTORY_DAYS}),
            "failed": ("dashboard/failed_expectations.sql", {}),
        }
    )
    return Quality(frames["latest"], frames["rejected"], frames["failed"])


@pn.cache(ttl=CACHE_SECONDS)
def accepted_days() -> pd.DataFrame:
    """The days published although a guard failed, accepted by an operator (newest first):
    run_date, guard, source_file, message, figures, decided_at."""
    query = ("dashboard/accepted_days.sql", {"limit": ACCEPTED_SHOWN})
    return read_queries({"accepted": query})["accepted"]


@pn.cache(ttl=CACHE_SECONDS)
def warehouse_runs() -> pd.DataFrame:
    """meta.pipeline_runs, newest first, in the Pipeline page's columns."""
    frame = read_queries({"runs": ("dashboard/pipeline_runs.sql", {"limit": RUNS_SHOWN})})["runs"]
    runs = frame.rename(columns={"run_id": "run"})
    return _with_duration(runs)


@pn.cache(ttl=CACHE_SECONDS)
def prefect_runs(timeout: float) -> pd.DataFrame:
    """The last runs of the daily-pipeline flow from the Prefect API named by Prefect's own
    settings (PREFECT_API_URL); never the temporary local API a flow run would start."""
    from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    if not PREFECT_API_URL.value():
        raise Unavailable("PREFECT_API_URL is not set")
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName
    from prefect.client.schemas.sorting import FlowRunSort

    flows = FlowFilter(name=FlowFilterName(any_=[FLOW_NAME]))
    try:
        with (
            temporary_settings({PREFECT_CLIENT_MAX_RETRIES: 0}),  # fail fast, the page waits
            get_client(sync_client=True, httpx_settings={"timeout": timeout}) as client,
        ):
            runs = client.read_flow_runs(
                flow_filter=flows, sort=FlowRunSort.EXPECTED_START_TIME_DESC, limit=RUNS_SHOWN
            )
    except Exception as exc:  # httpx, HTTP status and validation errors alike: say which
        raise Unavailable(
            f"the Prefect API at {PREFECT_API_URL.value()} did not answer "
            f"({type(exc).__name__}: {_first_line(exc)})"
        ) from None
    rows = [
        {
            "run": run.name,
            "run_date": run.parameters.get("run_date"),
            "state": run.state_name or (run.state_type.value if run.state_type else ""),
            "started_at": run.start_time,
            "finished_at": run.end_time,
        }
        for run in runs
    ]
    columns = ["run", "run_date", "state", "started_at", "finished_at"]
    return _with_duration(pd.DataFrame(rows, columns=columns))


def _with_duration(frame: pd.DataFrame) -> pd.DataFrame:
    """Add `duration` (a timedelta, NaT while a run is still going)."""
    frame = frame.copy()
    for column in ("started_at", "finished_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    frame["duration"] = frame["finished_at"] - frame["started_at"]
    return frame


def pipeline_runs(timeout: float) -> Runs:
    """Prefect's runs when its API answers, else the warehouse's history; Unavailable with
    both reasons when neither can be read."""
    try:
        return Runs("Prefect API", prefect_runs(timeout))
    except Unavailable as prefect_reason:
        try:
            frame = warehouse_runs()
        except Unavailable as warehouse_reason:
            raise Unavailable(
                f"No run history could be read: {prefect_reason}, and {warehouse_reason}"
            ) from None
        return Runs("warehouse (meta.pipeline_runs)", frame, f"Prefect: {prefect_reason}.")


def format_duration(value: timedelta | None) -> str:
    """'1 h 02 min', '3 min 07 s', '12 s', '<1 s'; '' for a run still going."""
    if value is None or pd.isna(value):
        return ""
    if value.total_seconds() < 1:
        return "<1 s"
    seconds = int(round(value.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


LOADERS = (quality_data, accepted_days, warehouse_runs, prefect_runs)
