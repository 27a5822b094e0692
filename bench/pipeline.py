"""The daily pipeline end to end, against the floor of reading its inputs once.

The floor is the time to read every input byte of the day from the lake; the ratio says how
much the whole pipeline (stage, merges, Spark, publish, Prefect) costs beyond touching the data.
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


def bench_pipeline(scale: float, seed: int = 7) -> dict:
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
        daily_pipeline(DAY)
        seconds = time.perf_counter() - started
        if get_settings().database_url is None:
            postgres.stop_embedded()
    rows = sum(counts.values())
    return {
        "stage": "pipeline end to end",
        "rows": rows,
        "seconds": seconds,
        "floor": "read inputs once",
        "floor_seconds": floor,
        "ratio": seconds / floor if floor else 0.0,
    }
