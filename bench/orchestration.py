"""Orchestration overhead: the daily flow's wall time minus the time its tasks spent working.

The work is the union of the task runs' intervals (start to end, as the Prefect server recorded
them, subflows included): the stage loads run side by side, so a plain sum would count their
overlap twice. What is left is Prefect's share (flow and subflow runs, task submission, state
changes, artifacts) plus the flow bodies' own code (the run lock). Against a Prefect server
started here (or PREFECT_API_URL), so a temporary server's start-up is not counted.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from uuid import UUID

DAY = date(2017, 11, 16)


@contextmanager
def prefect_api(home: str) -> Iterator[str]:
    """PREFECT_API_URL if set, else a `prefect server start` of our own for the benchmark."""
    if os.environ.get("PREFECT_API_URL"):
        yield os.environ["PREFECT_API_URL"]
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "PREFECT_HOME": home, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    server = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
         "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/api"
    try:
        for _ in range(360):
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.5)
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings({PREFECT_API_URL: url}):  # prefect read its settings already
            yield url
    finally:
        from prefect.logging.handlers import APILogWorker

        APILogWorker.drain_all(timeout=10)  # the run's last logs, before their server goes
        server.terminate()
        server.wait(30)


def union_seconds(intervals: list[tuple[datetime, datetime]]) -> float:
    """Seconds covered by at least one interval."""
    total, end = 0.0, None
    for start, stop in sorted(intervals):
        if end is None or start > end:
            total += (stop - start).total_seconds()
            end = stop
        elif stop > end:
            total += (stop - end).total_seconds()
            end = stop
    return total


def task_intervals(flow_run_id: UUID) -> list[tuple[datetime, datetime]]:
    """(start, end) of every task run of the flow run and of its subflows."""
    from tasks.resources.prefect_runs import task_runs

    runs = task_runs(flow_run_id)
    return [(r.start_time, r.end_time) for r in runs if r.start_time and r.end_time]


def bench_orchestration(scale: float, seed: int = 7) -> dict:
    """Generate a day into a fresh lake and data folder, run the flow, split its time."""
    with tempfile.TemporaryDirectory(prefix="pdbi-bench-") as tmp:
        os.environ["PDBI_LAKE_URL"] = f"{tmp}/lake"
        os.environ["PDBI_DATA_DIR"] = f"{tmp}/data"
        os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        from tasks.settings import get_settings

        get_settings.cache_clear()
        with prefect_api(f"{tmp}/prefect"):
            from flows.daily import daily_pipeline
            from tasks.generator.day import generate
            from tasks.resources import postgres
            from tasks.resources.lake import get_lake

            counts = generate(get_lake(), scale=scale, seed=seed, run_date=DAY)
            postgres.check_database()  # the embedded server's start is not the flow's
            started = time.perf_counter()
            state = daily_pipeline(DAY, return_state=True)
            wall = time.perf_counter() - started
            if not state.is_completed():
                raise RuntimeError(f"the benchmark's flow run failed: {state.message}")
            intervals = task_intervals(state.state_details.flow_run_id)
        if get_settings().database_url is None:
            postgres.stop_embedded()
    work = union_seconds(intervals)
    task_sum = sum((end - start).total_seconds() for start, end in intervals)
    overhead = wall - work
    return {
        "stage": "orchestration overhead",
        "rows": sum(counts.values()),
        "seconds": wall,
        "floor": "work inside tasks",
        "floor_seconds": work,
        "ratio": wall / work if work else 0.0,
        "task_runs": len(intervals),
        "task_seconds_sum": task_sum,
        "overhead_seconds": overhead,
        "overhead_share": overhead / wall if wall else 0.0,
    }
