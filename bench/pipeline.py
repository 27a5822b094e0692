"""The daily pipeline end to end, against the floor of reading its inputs once.

The floor is the time to read every input byte of the day from the lake; the ratio says how
much the whole pipeline (stage, merges, Spark, publish, Prefect) costs beyond touching the data.
Prefect's temporary API server is started by a trivial flow first and timed on a row of its own
(a deployment talks to a running server and never pays it). Then the day runs twice: the first
run does the work, the second finds no new file in the manifest and only re-derives the day's
outputs (target: under 15 seconds). Each run's time is then split by task, as the Prefect API
recorded its task runs (stage loads run side by side, so shares can add up past 100%).
"""

from __future__ import annotations

import os
import tempfile
import time
from datetime import date
from pathlib import Path
from uuid import UUID

DAY = date(2017, 11, 16)


def _read_all(root: Path) -> int:
    total = 0
    for path in sorted(root.rglob("*.json")):
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                total += len(chunk)
    return total


def bench_pipeline(scale: float, seed: int = 7) -> list[dict]:
    """Generate a day into a fresh lake and data folder, then time `daily_pipeline` on it."""
    with tempfile.TemporaryDirectory(prefix="pdbi-bench-") as tmp:
        os.environ["PDBI_LAKE_URL"] = f"{tmp}/lake"
        os.environ["PDBI_DATA_DIR"] = f"{tmp}/data"
        from tasks.settings import get_settings

        get_settings.cache_clear()
        from flows.daily import daily_pipeline
        from tasks.generator.day import generate
        from tasks.resources import postgres
        from tasks.resources.lake import get_lake

        counts = generate(get_lake(), scale=scale, seed=seed, run_date=DAY)
        started = time.perf_counter()
        _read_all(Path(tmp) / "lake")
        floor = time.perf_counter() - started

        started = time.perf_counter()
        _warm_up()
        api_start = time.perf_counter() - started

        seconds, states = [], []
        for _ in range(2):
            started = time.perf_counter()
            states.append(daily_pipeline(DAY, return_state=True))
            seconds.append(time.perf_counter() - started)
        for state in states:
            if not state.is_completed():
                raise RuntimeError(f"the benchmark's flow run failed: {state.message}")
        steps = [(f"first run: {name}", s, seconds[0])
                 for name, s in task_seconds(states[0].state_details.flow_run_id)]  # fmt: skip
        steps += [(f"rerun: {name}", s, seconds[1])
                  for name, s in task_seconds(states[1].state_details.flow_run_id)]  # fmt: skip
        if get_settings().database_url is None:
            postgres.stop_embedded()
    rows = sum(counts.values())
    common = {"rows": rows, "floor": "read inputs once", "floor_seconds": floor}
    return [
        {"stage": "Prefect temporary API start", **common, "seconds": api_start, "ratio": 0.0},
        *(
            {"stage": stage, **common, "seconds": s, "ratio": s / floor if floor else 0.0}
            for stage, s in zip(
                ("pipeline end to end", "pipeline rerun, nothing new"), seconds, strict=True
            )
        ),
        *(
            {
                "stage": stage,
                "rows": rows,
                "seconds": s,
                "floor": "share of the run",
                "floor_seconds": run_seconds,
                "ratio": s / run_seconds,
            }
            for stage, s, run_seconds in steps
        ),  # fmt: skip
    ]


def task_seconds(flow_run_id: UUID) -> list[tuple[str, float]]:
    """Seconds per task of the run, slowest first (runs of one task added up); tasks under 2%
    of the slowest are summed into one row. Subflows (load-stage, merge-warehouse) appear as
    tasks of their own, and their tasks too."""
    from tasks.resources.prefect_runs import task_runs

    spent: dict[str, float] = {}
    for run in task_runs(flow_run_id):
        if run.start_time and run.end_time:
            name = run.name.removesuffix(f"-{run.dynamic_key[:3]}")  # Prefect's default
            spent[name] = spent.get(name, 0.0) + (run.end_time - run.start_time).total_seconds()
    ranked = sorted(spent.items(), key=lambda item: -item[1])
    cut = 0.02 * ranked[0][1] if ranked else 0.0
    rest = [s for _, s in ranked if s < cut]
    kept = [(name, s) for name, s in ranked if s >= cut]
    return [*kept, ("other tasks", sum(rest))] if rest else kept


def _warm_up() -> None:
    from prefect import flow

    @flow(name="bench-warm-up")
    def warm_up() -> None:
        return None

    warm_up()
