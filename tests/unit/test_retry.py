"""What is retried: transient I/O failures only, with the options every I/O task shares."""

from __future__ import annotations

import httplib2
import psycopg
import pytest
from googleapiclient.errors import HttpError

from tasks.errors import ConfigError, DataError
from tasks.resources.gdrive_api import DriveUnavailableError
from tasks.retry import JITTER, is_transient, only_transient, transient_retries
from tasks.stage.load import SuiteFailed


def drive_error(status: int) -> HttpError:
    return HttpError(httplib2.Response({"status": status}), b'{"error": {"code": %d}}' % status)


@pytest.mark.parametrize(
    "exc",
    [
        psycopg.OperationalError("server closed the connection unexpectedly"),
        psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
        psycopg.errors.SerializationFailure("could not serialize access"),
        psycopg.errors.DeadlockDetected("deadlock detected"),
        ConnectionRefusedError(111, "Connection refused"),
        ConnectionResetError(104, "Connection reset by peer"),
        TimeoutError("timed out"),
        drive_error(429),
        drive_error(500),
        drive_error(503),
    ],
    ids=lambda e: type(e).__name__ + str(getattr(getattr(e, "resp", None), "status", "")),
)
def test_transient_failures_are_retried(exc: BaseException) -> None:
    assert is_transient(exc)


@pytest.mark.parametrize(
    "exc",
    [
        DataError("students.json: line 3 is not JSON"),
        SuiteFailed.__new__(SuiteFailed),
        ConfigError("PDBI_LAKE_URL: unknown scheme"),
        DriveUnavailableError("Drive failed 6 times; giving up"),
        psycopg.errors.UniqueViolation("duplicate key"),
        psycopg.errors.UndefinedTable("relation does not exist"),
        drive_error(404),
        ValueError("bad value"),
        FileNotFoundError("raw/2017-11-16/part-00000.json"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_data_and_setting_errors_are_not(exc: BaseException) -> None:
    assert not is_transient(exc)


def test_every_io_task_shares_one_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import clear_caches

    monkeypatch.setenv("PDBI_TASK_RETRIES", "4")
    monkeypatch.setenv("PDBI_RETRY_DELAY_SECONDS", "1.5")
    clear_caches()
    options = transient_retries()
    assert options["retries"] == 4
    assert options["retry_delay_seconds"] == [1.5, 3.0, 6.0, 12.0]
    assert options["retry_jitter_factor"] == JITTER
    assert options["retry_condition_fn"] is only_transient
    assert transient_retries(0)["retries"] == 0


def test_the_tasks_were_built_with_it() -> None:
    from tasks.lake.extract import find_new_files
    from tasks.stage.load import stage_entity
    from tasks.warehouse.export import export_for_spark
    from tasks.warehouse.merge import merge_step

    for task in (stage_entity, merge_step, find_new_files, export_for_spark):
        assert task.retry_condition_fn is only_transient, task.name
        assert task.retries >= 1 and task.retry_jitter_factor == JITTER, task.name
