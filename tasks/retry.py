"""Which failures deserve a retry: transient I/O only, never bad data or bad settings."""

from __future__ import annotations

import psycopg
from prefect import Task
from prefect.client.schemas.objects import TaskRun
from prefect.states import State

from tasks.errors import PdbiError

TRANSIENT_SQLSTATES = {"40001", "40P01", "57P01", "57P02", "57P03", "08000", "08003", "08006"}


def is_transient(exc: BaseException) -> bool:
    """Dropped connections, serialization failures, deadlocks, and network hiccups."""
    if isinstance(exc, PdbiError):
        return False
    if isinstance(exc, psycopg.Error):
        state = getattr(exc, "sqlstate", None)
        return isinstance(exc, psycopg.OperationalError) or state in TRANSIENT_SQLSTATES
    return isinstance(exc, ConnectionError | TimeoutError)


def only_transient(task: Task, task_run: TaskRun, state: State) -> bool:
    """Prefect retry_condition_fn: retry when the failure was transient."""
    try:
        state.result()
    except Exception as exc:  # noqa: BLE001 - we classify whatever the task raised
        return is_transient(exc)
    return False
