"""Faults in the middle of real runs: each run completes through its retries or fails with a
clear message, and the clean run after it leaves the warehouse and the analytics outputs equal
(tests/canonical.py) to those of one undisturbed run over the same input, shared per session.

The day is tiny (tests/e2e/faults.py): the faults are about timing and recovery, not volume.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from flows.daily import daily_pipeline
from tasks.resources import postgres
from tasks.resources.lake import get_lake
from tests.canonical import State, assert_same_state, canonical_state
from tests.conftest import SERVER_URL, clear_caches
from tests.e2e.faults import (
    DAY,
    LATE_PART,
    D,
    Sighting,
    pause_on,
    remove_pauses,
    server_database,
    terminate,
    watch_backends,
    write_day,
)

pytestmark = pytest.mark.usefixtures("prefect_api")
ROOT = Path(__file__).resolve().parents[2]


def current_state() -> State:
    with postgres.connect() as conn:
        return canonical_state(conn, get_lake())


@pytest.fixture(scope="session")
def undisturbed(prefect_api: None, tmp_path_factory: pytest.TempPathFactory) -> State:
    """The state one undisturbed run leaves, over the day every fault test uses."""
    root = tmp_path_factory.mktemp("undisturbed")
    with pytest.MonkeyPatch.context() as env, server_database("pdbi_undisturbed") as url:
        env.setenv("PDBI_DATABASE_URL", url)
        env.setenv("PDBI_LAKE_URL", str(root / "lake"))
        env.setenv("PDBI_DATA_DIR", str(root / "data"))
        clear_caches()
        try:
            write_day(get_lake())
            daily_pipeline(DAY)
            state = current_state()
        finally:
            clear_caches()
    assert len(state["dw.dim_student"]) > 100 and len(state["analytics/full.csv"]) > 100
    return state


@pytest.fixture
def fault_db(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """A fresh, migrated database on the 127.0.0.1 server as PDBI_DATABASE_URL; yields
    (url, database name)."""
    with server_database() as url:
        monkeypatch.setenv("PDBI_DATABASE_URL", url)
        clear_caches()
        with postgres.connect() as conn:
            postgres.apply_migrations(conn)
        yield url, psycopg.conninfo.conninfo_to_dict(url)["dbname"]
        clear_caches()


def converges(undisturbed: State) -> None:
    """The clean run after a fault: it must bring the state to the undisturbed one."""
    with postgres.connect() as conn:
        remove_pauses(conn)
    daily_pipeline(DAY)
    assert_same_state(undisturbed, current_state())


# --- the database backend killed -------------------------------------------------------------

KILLS = {
    # where: (table the pause sits on, per row?, the statement the backend must be running)
    "stage-copy": ("stage.students", True, 'copy "stage"."students"%'),
    # pg_stat_activity keeps the first 1 kB of a query: the files' opening comments name them
    "dimension-merge": ("dw.dim_student", False, "-- scd_apply:%"),
    "fact-load": ("dw.fct_session", False, "-- fct_session:%"),
}


@pytest.mark.parametrize("where", sorted(KILLS))
def test_a_backend_killed_mid_statement_is_retried(
    where: str, undisturbed: State, fault_db: tuple[str, str]
) -> None:
    url, dbname = fault_db
    table, each_row, statement = KILLS[where]
    with postgres.connect() as conn:
        pause_on(conn, table, each_row=each_row)
    write_day(get_lake())
    watch = watch_backends(SERVER_URL, dbname, statement, terminate(SERVER_URL))

    summary = daily_pipeline(DAY)  # completes: the task is retried after the kill

    watch.wait()
    assert len(watch.seen) == 1, f"the backend was never seen in {statement}"
    assert summary.staged and summary.merged
    converges(undisturbed)
