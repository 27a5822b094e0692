"""Every run of daily-pipeline recorded in the warehouse: meta.pipeline_runs.

The dashboard's Pipeline page reads the Prefect API when one is configured and this table
otherwise, so the history must not depend on Prefect's database. The preflight writes the
run's row (state Running) once the migrations are in place; Prefect flow hooks
(`on_completion`, `on_failure`, `on_crashed`, `on_cancellation`) write its end, which they do
however the flow's body ends: a failure in any step, a bad setting in the preflight, an
interrupted process. Times are Prefect's own (the flow run's start, the final state's time).
A record that cannot be written (the database is what failed) costs one warning, never the
run's own outcome.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

import psycopg

from tasks.errors import PdbiError
from tasks.resources import postgres
from tasks.run_date import as_date, scheduled_day
from tasks.settings import mask_text
from tasks.summary import RunSummary

ERROR_CHARS = 2000  # a failure's sentence, kept whole; a stray huge message is cut
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    run_name: str
    run_date: date
    state: str = "Running"
    started_at: datetime | None = None
    finished_at: datetime | None = None
    summary: RunSummary | None = None
    error: str | None = None

    def params(self) -> dict[str, Any]:
        staged = self.summary.staged if self.summary else None
        return {
            "run_id": self.run_id,
            "run_name": self.run_name,
            "run_date": self.run_date,
            "state": self.state,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "rows_read": sum(c.rows_read for c in staged) if staged is not None else None,
            "rows_loaded": sum(c.rows_loaded for c in staged) if staged is not None else None,
            "rows_rejected": sum(c.rows_rejected for c in staged) if staged is not None else None,
            "counts": json.dumps(counts(self.summary)) if self.summary else None,
            "error": self.error,
        }


def counts(summary: RunSummary) -> dict[str, Any]:
    """What the run did, per source and file, as the run summary's artifacts show it."""
    staged: dict[str, dict[str, int]] = {}
    for c in summary.staged:
        totals = staged.setdefault(c.entity, {"read": 0, "loaded": 0, "rejected": 0})
        totals["read"] += c.rows_read
        totals["loaded"] += c.rows_loaded
        totals["rejected"] += c.rows_rejected
    return {"staged": staged, "published": dict(summary.outputs), "events": dict(summary.events)}


def error_sentence(exc: BaseException | None, fallback: str) -> str:
    """The failure as an operator reads it: a PdbiError's own sentence, else the exception's
    type and first line; any URL's password masked."""
    if exc is None:
        text = fallback
    elif isinstance(exc, PdbiError):
        text = str(exc)
    else:
        first = next((line for line in str(exc).splitlines() if line.strip()), "")
        text = f"{type(exc).__name__}: {first.strip()}" if first else type(exc).__name__
    return mask_text(" ".join(text.split()))[:ERROR_CHARS]


def write(record: RunRecord, sql_file: str) -> None:
    """One short transaction; waits for the database no longer than the preflight does."""
    with postgres.connect(application_name="pdbi-run-record", wait=False) as conn:
        postgres.run_sql_file(conn, sql_file, record.params())


def record_start(record: RunRecord) -> None:
    write(record, "meta/pipeline_run_start.sql")


def record_end(record: RunRecord) -> None:
    write(record, "meta/pipeline_run_finish.sql")


# --- the preflight and Prefect flow hooks ----------------------------------------------------


def record_run_started(run_date: date) -> None:
    """From inside the run (the preflight, after the migrations): its row, state Running."""
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    if context is None or context.flow_run is None:  # not inside a flow run: nothing to record
        return
    run = context.flow_run
    record = RunRecord(str(run.id), run.name, run_date, started_at=run.start_time)
    _safely(f"The start of {record.run_name}", record_start, record)


def _record_of(flow_run: Any, state: Any) -> RunRecord:
    run_date = as_date(flow_run.parameters.get("run_date")) or scheduled_day(
        flow_run.expected_start_time
    )
    return RunRecord(
        str(flow_run.id),
        flow_run.name,
        run_date,
        state.name or str(state.type),
        started_at=flow_run.start_time,
        finished_at=state.timestamp,
    )


def _safely(action: str, write_record: Any, record: RunRecord) -> None:
    try:
        write_record(record)
    except (psycopg.Error, PdbiError, OSError) as exc:
        logger.warning(
            "%s was not recorded in meta.pipeline_runs (%s)", action, error_sentence(exc, "")
        )


def on_end(flow: Any, flow_run: Any, state: Any) -> None:
    """Hook for every final state: counts from the returned summary, or the error."""
    record = _record_of(flow_run, state)
    if state.is_completed():
        result = state.result(raise_on_failure=False)
        if isinstance(result, RunSummary):
            record = replace(record, summary=result)
    else:
        exc = state.result(raise_on_failure=False) if state.is_failed() else None
        exc = exc if isinstance(exc, BaseException) else None
        record = replace(record, error=error_sentence(exc, state.message or record.state))
    _safely(f"The end of {flow_run.name}", record_end, record)


RUN_HOOKS: dict[str, list[Any]] = {
    "on_completion": [on_end],
    "on_failure": [on_end],
    "on_crashed": [on_end],
    "on_cancellation": [on_end],
}
