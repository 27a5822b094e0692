"""The daily pipeline end to end, against the floor of reading its inputs once.

The floor is the time to read every input byte of the day from the lake; the ratio says how
much the whole pipeline (stage, merges, Spark, publish, Prefect) costs beyond touching the data.
Prefect's temporary API server is started by a trivial flow first and timed on a row of its own
(a deployment talks to a running server and never pays it). Then the day runs twice: the first
run does the work, the second finds no new file in the manifest and only re-derives the day's
outputs (target: under 15 seconds).
"""

from __future__ import annotations

import os
import tempfile
import time
from datetime import date
from pathlib import Path

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
        from tasks.generate import generate
        from tasks.resources import postgres
        from tasks.resources.lake import get_lake

        counts = generate(get_lake(), scale=scale, seed=seed, run_date=DAY)
        started = time.perf_counter()
        _read_all(Path(tmp) / "lake")
        floor = time.perf_counter() - started

        started = time.perf_counter()
        _warm_up()
        api_start = time.perf_counter() - started

        seconds = []
        for _ in range(2):
            started = time.perf_counter()
            daily_pipeline(DAY)
            seconds.append(time.perf_counter() - started)
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
    ]


def _warm_up() -> None:
    from prefect import flow

    @flow(name="bench-warm-up")
    def warm_up() -> None:
        return None

    warm_up()
