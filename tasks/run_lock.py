"""One run per day at a time: a PostgreSQL advisory lock held for the whole run.

Two runs of the same day (a schedule and a manual run, a retry while the first still runs)
would interleave truncates, COPYs and merges of the same stage tables. The lock belongs to a
connection of its own, opened before the first step and closed after the last, so it is
released however the run ends, a killed process included (the server drops the session). The
second run waits up to PDBI_RUN_LOCK_TIMEOUT_SECONDS, then refuses in one sentence naming who
holds the lock. Runs of different days do not wait for each other.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import psycopg
from psycopg.rows import dict_row

from tasks.errors import PdbiError
from tasks.resources import postgres
from tasks.settings import get_settings

NAMESPACE = 7_130_002  # pdbi's class of run locks (the migrations use the one-key form)
EPOCH = date(2000, 1, 1)
POLL_SECONDS = 0.5
logger = logging.getLogger(__name__)


class RunLocked(PdbiError):
    """Another run of the same day holds the lock and did not finish in time."""


def lock_params(run_date: date) -> dict[str, int]:
    return {"namespace": NAMESPACE, "day": (run_date - EPOCH).days}


def _try(conn: psycopg.Connection, params: dict[str, int]) -> bool:
    return bool(postgres.fetch_all(conn, postgres.read_sql("meta/run_lock_try.sql"), params)[0][0])


def _holder(conn: psycopg.Connection, params: dict[str, int]) -> str:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(postgres.read_sql("meta/run_lock_holder.sql"), params).fetchone()
    if row is None:
        return "a session that has just ended"
    app = row["application_name"] or "unnamed client"
    since = f"{row['backend_start']:%Y-%m-%d %H:%M:%S %Z}" if row["backend_start"] else "?"
    return f"PostgreSQL backend {row['pid']} ({app}, connected since {since})"


@contextmanager
def run_lock(
    run_date: date,
    timeout: float | None = None,
    log: logging.Logger | logging.LoggerAdapter = logger,
) -> Iterator[None]:
    """Hold the run lock of run_date for the body; wait up to timeout seconds for it."""
    timeout = get_settings().run_lock_timeout_seconds if timeout is None else timeout
    params = lock_params(run_date)
    with postgres.connect(autocommit=True, application_name=f"pdbi-run-lock-{run_date}") as conn:
        started = time.monotonic()
        waited = False
        while not _try(conn, params):
            if not waited:
                log.warning("another run of %s is in progress: waiting up to %.0f s for it to "
                            "finish (%s)", run_date, timeout, _holder(conn, params))  # fmt: skip
                waited = True
            if time.monotonic() - started >= timeout:
                raise RunLocked(
                    f"another run of {run_date} is still in progress ({_holder(conn, params)}); "
                    f"waited {time.monotonic() - started:.0f} s (PDBI_RUN_LOCK_TIMEOUT_SECONDS). "
                    "Let it finish, or cancel it in the Prefect UI, then run this day again."
                )
            time.sleep(min(POLL_SECONDS, max(0.0, timeout - (time.monotonic() - started))))
        log.info("run lock of %s taken", run_date)
        try:
            yield
        finally:
            with contextlib.suppress(psycopg.Error):  # a lost session took its lock with it
                postgres.fetch_all(conn, postgres.read_sql("meta/run_lock_release.sql"), params)
