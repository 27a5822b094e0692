"""Which failures deserve a retry: transient I/O only, never bad data or bad settings.

Every I/O task takes its retry options from `transient_retries()`, so the policy (how many
tries, the backoff, the jitter, what counts as transient) lives here once.
"""

from __future__ import annotations

from typing import Any

import psycopg
from prefect import Task
from prefect.client.schemas.objects import TaskRun
from prefect.states import State
from prefect.tasks import exponential_backoff

from tasks.errors import PdbiError
from tasks.settings import get_settings

TRANSIENT_SQLSTATES = {"40001", "40P01", "57P01", "57P02", "57P03", "08000", "08003", "08006"}
JITTER = 0.5  # each delay drawn around its value, at most 50% longer: parallel retries spread


def is_transient(exc: BaseException) -> bool:
    """Dropped connections, serialization failures, deadlocks, Drive's 429 and 5xx, and
    network hiccups. A PdbiError never is: its message asks an operator to fix something (a
    DriveUnavailableError has been retried inside the lake already)."""
    if isinstance(exc, PdbiError):
        return False
    if isinstance(exc, psycopg.Error):
        state = getattr(exc, "sqlstate", None)
        return isinstance(exc, psycopg.OperationalError) or state in TRANSIENT_SQLSTATES
    if isinstance(exc, ConnectionError | TimeoutError):
        return True
    return _drive_transient(exc)


def _drive_transient(exc: BaseException) -> bool:
    """Drive API errors that escaped the lake's own retries (429, 5xx, rate limits)."""
    module = type(exc).__module__
    if not module.startswith(("googleapiclient", "pydrive2", "oauth2client", "http.client")):
        return False
    from tasks.resources.gdrive_api import transient_reason

    return transient_reason(exc) is not None


def only_transient(task: Task, task_run: TaskRun, state: State) -> bool:
    """Prefect retry_condition_fn: retry when the failure was transient."""
    try:
        state.result()
    except Exception as exc:  # noqa: BLE001 - we classify whatever the task raised
        return is_transient(exc)
    return False


def transient_retries(retries: int | None = None) -> dict[str, Any]:
    """The @task options of an I/O task: PDBI_TASK_RETRIES tries after a transient failure,
    exponential backoff from PDBI_RETRY_DELAY_SECONDS with jitter; data errors fail at once."""
    settings = get_settings()
    retries = settings.task_retries if retries is None else retries
    return {
        "retries": retries,
        "retry_delay_seconds": exponential_backoff(settings.retry_delay_seconds)(retries)
        if retries
        else 0,
        "retry_jitter_factor": JITTER,
        "retry_condition_fn": only_transient,
    }
