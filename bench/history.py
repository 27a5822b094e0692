"""History that means something, measured: the as-of export and the replay of late days.

`as_of`: the students export as of a day (sql/export/student_flat_as_of.sql, the versions valid
that day, university and course included) against the floor of the current-only export it
replaced (dw.student_flat, the same COPY into Parquet), on a warehouse holding two days of
history (the generator drifts students' cities and courses between days). Both the latest day
and the day before are timed; each export runs three times and the fastest counts. Stage is
filled by a plain COPY of the generated files and only the dimensions are merged: the export
reads nothing else.

`replay`: seven days, the warehouse part of the daily run (extraction, stage with its
validation, the rewind, the merges, the manifest, the archive, the export as of the day), as
the flow's tasks run it, without Prefect and Spark (bench/replay_driver.py). The
floor loads the seven days in date order; the measured run loads the first day after the six
others, so that it replays them all from their archives. Replayed days stage their exports
again but not their events (they are not merged), which is why a replay costs less.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta

import psycopg
import pyarrow.parquet as pq
from psycopg import sql

from bench.merge import _embedded, _stage
from bench.replay_driver import Driver
from tasks.entities import ENTITIES
from tasks.generator.day import generate
from tasks.resources import postgres
from tasks.resources.lake import Lake
from tasks.settings import get_settings
from tasks.warehouse.export import STUDENT_SCHEMA, _batches, export_students
from tasks.warehouse.merge import run_merge_step

DAY = date(2017, 11, 16)
LOOKUPS = ("dim_reference", "dim_university", "dim_course", "dim_subject", "dim_student")
CURRENT_ONLY = (
    "select student_id, state, city, university, course from dw.student_flat order by student_id"
)


def bench_as_of(scale: float, seed: int = 7) -> list[dict]:
    days = (DAY, DAY + timedelta(days=1))
    with tempfile.TemporaryDirectory(prefix="pdbi-bench-asof-") as tmp, _embedded(tmp):
        lake = Lake(f"{tmp}/lake")
        with postgres.connect() as conn:
            postgres.apply_migrations(conn)
            for day in days:
                generate(lake, scale=scale, seed=seed, run_date=day)
                for name in ("universities", "courses", "subjects", "students"):
                    _stage(conn, name, _records_of(lake, name, day))
                for name in ("sessions", "subscriptions", "student_follow_subject"):
                    _stage(conn, name, [])
                for step in LOOKUPS:
                    run_merge_step(conn, step, day)
                conn.commit()
            versions = postgres.fetch_all(conn, "select count(*) from dw.dim_student")[0][0]
            floor, rows = _fastest(lambda: _current_only(conn, lake))
            results = []
            for label, day in (("the latest day", days[1]), ("the day before", days[0])):
                seconds, exported = _fastest(
                    lambda day=day: export_students(conn, lake, "temp", f"{day}.parquet", day)
                )
                results.append({
                    "stage": f"students export as of {label}",
                    "rows": exported,
                    "seconds": round(seconds, 3),
                    "floor": f"current-only export of dw.student_flat ({rows:,} rows)",
                    "floor_seconds": round(floor, 3),
                    "ratio": round(seconds / floor, 2),
                    "versions": versions,
                })  # fmt: skip
            return results


def _records_of(lake: Lake, name: str, day: date) -> list[dict]:
    return json.loads(lake.read_bytes("transactional", f"{day}/{name}.json").decode("utf-8-sig"))


def _current_only(conn: psycopg.Connection, lake: Lake) -> int:
    """What export_students did before it was as of a day: dw.student_flat into Parquet."""
    written = 0
    query = sql.SQL(CURRENT_ONLY)
    with (
        lake.write_atomic("temp", "current.parquet") as out,
        pq.ParquetWriter(out, STUDENT_SCHEMA) as writer,
    ):
        for batch in _batches(conn, query):
            writer.write_batch(batch)
            written += batch.num_rows
    return written


def _fastest(run: Callable[[], int], repeats: int = 3) -> tuple[float, int]:
    best, result = float("inf"), 0
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - started)
    return best, result


def bench_replay(scale: float, seed: int = 7, days: int = 7) -> list[dict]:
    dates = [DAY + timedelta(days=n) for n in range(days)]
    with tempfile.TemporaryDirectory(prefix="pdbi-bench-replay-") as tmp:
        lakes = {}
        for name in ("in-order", "late"):
            lakes[name] = Lake(f"{tmp}/{name}/lake")
            for day in dates:
                generate(lakes[name], scale=scale, seed=seed, run_date=day)
        records = sum(len(_records_of(lakes["late"], n, d)) for n in ENTITIES for d in dates)
        with _embedded(f"{tmp}/in-order"), _lake(lakes["in-order"]):
            in_order = _timed_runs(lakes["in-order"], dates)
        with _embedded(f"{tmp}/late"), _lake(lakes["late"]):
            _timed_runs(lakes["late"], dates[1:])  # the six later days first, not timed
            driver = Driver(lakes["late"])
            started = time.perf_counter()
            driver.run(dates[0])
            seconds = time.perf_counter() - started
        assert driver.replayed == dates[1:], driver.replayed
        return [{
            "stage": f"a day loaded after the {days - 1} days that follow it, and their replay",
            "rows": records,
            "seconds": round(seconds, 2),
            "floor": f"the {days} days loaded in date order",
            "floor_seconds": round(in_order, 2),
            "ratio": round(seconds / in_order, 2),
        }]  # fmt: skip


@contextmanager
def _lake(lake: Lake) -> Iterator[None]:
    """PDBI_LAKE_URL pointing at the lake (stage reads it from the settings), restored after."""
    saved = os.environ.get("PDBI_LAKE_URL")
    os.environ["PDBI_LAKE_URL"] = lake.url
    get_settings.cache_clear()
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("PDBI_LAKE_URL", None)
        else:
            os.environ["PDBI_LAKE_URL"] = saved
        get_settings.cache_clear()


def _timed_runs(lake: Lake, days: list[date]) -> float:
    with postgres.connect() as conn:
        postgres.apply_migrations(conn)
    driver = Driver(lake)
    started = time.perf_counter()
    for day in days:
        driver.run(day)
    return time.perf_counter() - started
