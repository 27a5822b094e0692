"""The run lock: one run per day at a time, on the embedded database and on the server."""

from __future__ import annotations

import threading
import time
from datetime import date

import psycopg
import pytest

from tasks.run_lock import RunLocked, lock_params, run_lock

DAY = date(2017, 11, 16)


def test_a_second_run_of_the_same_day_waits_then_refuses(database_url: str) -> None:
    with run_lock(DAY, timeout=0):
        started = time.monotonic()
        with pytest.raises(RunLocked) as refused, run_lock(DAY, timeout=1.0):
            pytest.fail("two runs of one day held the lock at once")
        assert time.monotonic() - started >= 1.0  # it waited the timeout before refusing
    message = str(refused.value)
    assert "another run of 2017-11-16 is still in progress" in message
    assert "pdbi-run-lock-2017-11-16" in message  # who holds it, for the operator
    assert "PDBI_RUN_LOCK_TIMEOUT_SECONDS" in message


def test_runs_of_other_days_do_not_wait(database_url: str) -> None:
    with run_lock(DAY, timeout=0), run_lock(date(2017, 11, 17), timeout=0):
        pass


def test_the_waiting_run_starts_once_the_first_finishes(database_url: str) -> None:
    order: list[str] = []
    first_holds = threading.Event()

    def first() -> None:
        with run_lock(DAY, timeout=0):
            first_holds.set()
            time.sleep(1.0)
            order.append("first done")

    thread = threading.Thread(target=first)
    thread.start()
    assert first_holds.wait(10)
    with run_lock(DAY, timeout=30):
        order.append("second started")
    thread.join()
    assert order == ["first done", "second started"]


def test_a_lost_session_releases_the_lock(database_url: str) -> None:
    """A run killed mid-way (its connection gone) does not block the day forever."""
    params = lock_params(DAY)
    with psycopg.connect(database_url) as crashed:
        taken = crashed.execute(
            "select pg_try_advisory_lock(%(namespace)s::int4, %(day)s::int4)", params
        ).fetchone()
        assert taken == (True,)
        with pytest.raises(RunLocked), run_lock(DAY, timeout=0.2):
            pass
    with run_lock(DAY, timeout=5):  # the crashed session ended: the lock went with it
        pass
