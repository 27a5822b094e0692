"""One run per day at a time, and one writer of the warehouse: PostgreSQL advisory locks.

Two runs of the same day (a schedule and a manual run, a retry while the first still runs)
would interleave truncates, COPYs and merges of the same stage tables. The lock belongs to a
connection of its own, opened before the first step and closed after the last, so it is
released however the run ends, a killed process included (the server drops the session). The
second run waits up to PDBI_RUN_LOCK_TIMEOUT_SECONDS, then refuses in one sentence naming who
holds the lock. Runs of different days do not wait for each other, except for the warehouse.

The warehouse lock (`warehouse_lock`) is held from extraction to the export for Spark: loads,
merges, rewinds and replays of different days run one at a time, since a day loaded after later
days rewinds and loads them again. A replay also takes, without waiting, the day locks of the
days it loads again (`day_locks`): a run of such a day still in progress makes it refuse before
it changes anything. Locks are always taken day first, then the warehouse, then other days
without waiting, so no two runs can wait for each other.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date

import psycopg
from psycopg.rows import dict_row

from tasks.errors import PdbiError
from tasks.resources import postgres
from tasks.settings import get_settings

NAMESPACE = 7_130_002  # pdbi's class of run locks (the migrations use the one-key form)
WAREHOUSE = 2**31 - 1  # the warehouse lock's key in that class: no day is that far from EPOCH
PUBLISH = 2**31 - 2  # the publish lock's: the analytics root and the daily series
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
    with _advisory_lock(lock_params(run_date), f"run of {run_date}", f"run-lock-{run_date}",
                        timeout, log):  # fmt: skip
        yield


@contextmanager
def warehouse_lock(
    timeout: float | None = None,
    log: logging.Logger | logging.LoggerAdapter = logger,
) -> Iterator[None]:
    """Hold the warehouse lock for the body (loads, merges, replays, the export)."""
    params = {"namespace": NAMESPACE, "day": WAREHOUSE}
    with _advisory_lock(params, "load of the warehouse", "warehouse-lock", timeout, log):
        yield


@contextmanager
def publish_lock(
    timeout: float | None = None,
    log: logging.Logger | logging.LoggerAdapter = logger,
) -> Iterator[None]:
    """Hold the publish lock for the body: the analytics zone's root and its daily series,
    which every day's publish updates."""
    params = {"namespace": NAMESPACE, "day": PUBLISH}
    with _advisory_lock(params, "update of the analytics root", "publish-lock", timeout, log):
        yield


@contextmanager
def day_locks(
    days: Iterable[date],
    run_date: date,
    log: logging.Logger | logging.LoggerAdapter = logger,
) -> Iterator[None]:
    """Hold the run locks of other days a run of run_date loads again, taken without waiting:
    one held by another run refuses at once, before anything is rewound."""
    days = sorted(days)
    if not days:
        yield
        return
    with postgres.connect(autocommit=True, application_name=f"pdbi-replay-{run_date}") as conn:
        taken = []
        try:
            for day in days:
                params = lock_params(day)
                if not _try(conn, params):
                    raise RunLocked(
                        f"a run of {day} is in progress ({_holder(conn, params)}), and the run "
                        f"of {run_date} must load that day again (it loads an earlier day); "
                        f"nothing was changed. Run {run_date} again once that run has finished."
                    )
                taken.append(params)
            log.info("run locks of %s taken for the replay", ", ".join(map(str, days)))
            yield
        finally:
            for params in taken:
                with contextlib.suppress(psycopg.Error):
                    postgres.fetch_all(conn, postgres.read_sql("meta/run_lock_release.sql"), params)


@contextmanager
def _advisory_lock(
    params: dict[str, int],
    what: str,
    application: str,
    timeout: float | None,
    log: logging.Logger | logging.LoggerAdapter,
) -> Iterator[None]:
    timeout = get_settings().run_lock_timeout_seconds if timeout is None else timeout
    with postgres.connect(autocommit=True, application_name=f"pdbi-{application}") as conn:
        started = time.monotonic()
        waited = False
        while not _try(conn, params):
            if not waited:
                log.warning("another %s is in progress: waiting up to %.0f s for it to "
                            "finish (%s)", what, timeout, _holder(conn, params))  # fmt: skip
                waited = True
            if time.monotonic() - started >= timeout:
                raise RunLocked(
                    f"another {what} is still in progress ({_holder(conn, params)}); "
                    f"waited {time.monotonic() - started:.0f} s (PDBI_RUN_LOCK_TIMEOUT_SECONDS). "
                    "Let it finish, or cancel it in the Prefect UI, then run this day again."
                )
            time.sleep(min(POLL_SECONDS, max(0.0, timeout - (time.monotonic() - started))))
        log.info("lock taken: %s", what)
        try:
            yield
        finally:
            with contextlib.suppress(psycopg.Error):  # a lost session took its lock with it
                postgres.fetch_all(conn, postgres.read_sql("meta/run_lock_release.sql"), params)
