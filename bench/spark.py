"""The Spark analytics job against its fair floor, the events validation's share of it, DuckDB.

One generated day, one SparkSession (built by tasks.resources.spark from the default settings).
The floor is what any job computing these outputs must pay: reading the files with the explicit
schema and materialising every column the outputs use (`write.format("noop")` of the projected
columns), best of two, after a warm-up read so JIT and page cache favour nobody. A second floor
materialises every column of an event, as the validated Parquet must. Then the job itself:
read once, validate (the split and GX's SUMMARY report), the validated events as Parquet, the
ten outputs and the manifest. The validation's share is what the job spends on it: GX's report,
and the split (the critical checks as the day is read, the per-expectation counts in the
counting pass), measured on the persisted day as the counting pass with and without the checks.
DuckDB computes the three original outputs with the same rules, checked to give the same rows.
"""

from __future__ import annotations

import csv
import json
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import functions as F

from tasks.analytics import day as days
from tasks.analytics import outputs
from tasks.analytics.job import CACHED, ORIGINAL_OUTPUTS, run_job
from tasks.generator.day import generate
from tasks.quality import events as suite
from tasks.resources.lake import Lake
from tasks.resources.spark_work import as_url
from tasks.settings import CASE_STUDY_DATE

DUCKDB_SQL = Path(__file__).with_name("spark_duckdb.sql")
# the raw keys the outputs read (both spellings): country, users, full, hours, clients, ...
OUTPUT_KEYS = (
    "studentId_clientType", "country", "custom_4", "at", "browser", "Page Name", "PageName",
    "Last Accessed Url", "LastAccessedUrl", "Page Category", "PageCategory",
)  # fmt: skip


def _timed(fn: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def students_parquet(day_dir: Path, target: Path) -> int:
    """dw.student_flat as the export would write it, built from the day's BASE A files (the
    warehouse is not what this benchmark measures)."""

    def names(file: str) -> dict[str, str]:
        records = json.loads((day_dir / file).read_text("utf-8-sig"))
        return {str(r.get("Id")).split(".")[0]: r.get("Name") for r in records}

    universities, courses = names("universities.json"), names("courses.json")
    flat: dict[str, tuple] = {}
    for s in json.loads((day_dir / "students.json").read_text("utf-8-sig")):
        if sid := str(s.get("Id") or "").strip():
            flat[sid] = (s.get("State") or "unknown", s.get("City") or "unknown",
                         universities.get(str(s.get("UniversityId")).split(".")[0], "unknown"),
                         courses.get(str(s.get("CourseId")).split(".")[0], "unknown"))  # fmt: skip
    columns = list(zip(*((sid, *v) for sid, v in flat.items()), strict=True))
    named = zip(outputs.STUDENT_COLUMNS, columns, strict=True)
    table = pa.table({c: pa.array(v, pa.string()) for c, v in named})
    pq.write_table(table, target)
    return len(flat)


def duckdb_original_three(paths: list[str], students: str, out: Path) -> None:
    import duckdb  # a bench dependency only

    out.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as con:
        con.execute("set preserve_insertion_order = true")
        con.execute(f"create view events as select * from {_read_json(paths)}")
        con.execute(f"create view students as select * from read_parquet({_quote(students)})")
        for name, query in _statements().items():
            target = _quote(str(out / f"{name}.csv"))
            con.execute(f"copy ({query}) to {target} (header, delimiter ',')")


DUCKDB_COLUMNS = {key: "VARCHAR" for key in OUTPUT_KEYS if "Category" not in key}


def _quote(text: str) -> str:
    """A SQL string literal (DuckDB cannot bind parameters in a view's definition)."""
    return "'" + text.replace("'", "''") + "'"


def _read_json(paths: list[str]) -> str:
    files = ", ".join(map(_quote, paths))
    columns = ", ".join(f"{_quote(k)}: {_quote(v)}" for k, v in DUCKDB_COLUMNS.items())
    return (
        f"read_json([{files}], format = 'newline_delimited', columns = {{{columns}}},"
        " ignore_errors = true)"
    )


def _statements() -> dict[str, str]:
    """country, users, full queries from spark_duckdb.sql (`-- name:` headers)."""
    blocks = DUCKDB_SQL.read_text("utf-8").split("-- name: ")[1:]
    return {b.split("\n", 1)[0].strip(): b.split("\n", 1)[1].strip().rstrip(";") for b in blocks}


def duckdb_floor(paths: list[str]) -> float:
    import duckdb

    with duckdb.connect() as con:
        query = f"select count(*) from {_read_json(paths)}"
        seconds, _ = _timed(lambda: con.execute(query).fetchall())
    return seconds


def _rows(path: Path) -> Counter:
    with open(path, encoding="utf-8", newline="") as handle:
        return Counter(tuple(r) for r in list(csv.reader(handle))[1:])


def _driver_peak_gb() -> float:
    """Peak resident memory of the driver JVM (local mode: executors included)."""
    from pyspark import SparkContext

    status = Path(f"/proc/{SparkContext._gateway.proc.pid}/status").read_text()
    line = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 2**20


def floors(spark, urls: list[str]) -> dict[str, float]:
    """Reading with the explicit schema and materialising the output columns, then every
    column: best of two each, after a warm-up."""
    read = spark.read.schema(days.RAW_SCHEMA).option("mode", "PERMISSIVE")

    def noop(columns: tuple[str, ...] | None) -> float:
        frame = read.json(urls)
        if columns is not None:
            frame = frame.select(*(F.col(f"`{c}`") for c in columns))
        return _timed(lambda: frame.write.format("noop").mode("overwrite").save())[0]

    noop(None)  # warm-up
    return {
        "projected": min(noop(OUTPUT_KEYS) for _ in range(2)),
        "all": min(noop(None) for _ in range(2)),
    }


def split_seconds(spark, urls: list[str]) -> float:
    """What the split adds to reading and counting the day: the critical checks evaluated as
    the day is read and every row-level expectation counted in the counting pass, measured
    as reading, persisting and counting the day with the suite and with no expectation."""
    found = suite.expectations()
    checks = {n: c for n, (_, c) in suite.row_checks(found).items()}
    critical = suite.critical_checks(found)

    def read_and_count(checks: dict, critical: dict) -> float:
        day = days.read_day(spark, urls, critical).persist(CACHED)
        try:
            return _timed(lambda: days.count_day(day, checks, critical))[0]
        finally:
            day.unpersist()

    with_suite = min(read_and_count(checks, critical) for _ in range(2))
    bare = min(read_and_count({}, {}) for _ in range(2))
    return max(with_suite - bare, 0.0)


def _measure(spark, paths: list[str], students: str, work: Path, run_date: date) -> dict:
    urls = [as_url(p) for p in paths]
    floor = floors(spark, urls)
    job, summary = _timed(lambda: run_job(spark, urls, as_url(students), work / "all", run_date))
    split = split_seconds(spark, urls)
    duck, _ = _timed(lambda: duckdb_original_three(paths, students, work / "duck3"))
    for name in ORIGINAL_OUTPUTS:  # the alternative must compute the same thing
        if _rows(work / "duck3" / f"{name}.csv") != _rows(work / "all" / f"{name}.csv"):
            raise AssertionError(f"duckdb's {name}.csv differs from Spark's")
    return {"floor": floor, "job": job, "split": split, "steps": summary["_seconds"],
            "duck": duck, "duck_floor": duckdb_floor(paths), "counts": summary["_events"],
            "peak_gb": _driver_peak_gb()}  # fmt: skip


def bench_spark(scale: float, seed: int = 7, run_date: date = CASE_STUDY_DATE) -> list[dict]:
    """Generate a day (not timed), then time the job, its floors, and DuckDB on it."""
    import os

    from tasks.resources.spark import spark_session
    from tasks.settings import get_settings

    root = Path(tempfile.mkdtemp(prefix="pdbi-bench-spark-"))
    try:
        os.environ["PDBI_DATA_DIR"] = str(root / "data")
        get_settings.cache_clear()
        lake = Lake(str(root / "lake"))
        generate(lake, scale, seed, run_date)
        day = run_date.isoformat()
        paths = sorted(str(p) for p in (root / "lake" / "raw" / day).glob("part-*.json"))
        students = str(root / "students.parquet")
        students_parquet(root / "lake" / "transactional" / day, Path(students))
        with spark_session("pdbi-bench-spark") as spark:
            m = _measure(spark, paths, students, root / "out", run_date)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    rows, floor = m["counts"]["read"], m["floor"]["projected"]
    validation = m["steps"]["gx_report"] + m["split"]
    floor_name = "read with the schema, noop of the output columns, same session"
    return [
        {"stage": "spark job: validate, Parquet, 10 outputs, manifest", "rows": rows,
         "seconds": m["job"], "floor": floor_name, "floor_seconds": floor,
         "ratio": m["job"] / floor, "floor_all_columns_seconds": m["floor"]["all"],
         "ratio_to_all_columns": m["job"] / m["floor"]["all"], "steps": m["steps"],
         "driver_peak_gb": round(m["peak_gb"], 2), "events": m["counts"]},
        {"stage": "events validation (GX SUMMARY report + split)", "rows": rows,
         "seconds": validation, "floor": "the job without it",
         "floor_seconds": m["job"] - validation, "ratio": validation / (m["job"] - validation),
         "gx_seconds": m["steps"]["gx_report"], "split_seconds": m["split"]},
        {"stage": "duckdb: the 3 original outputs", "rows": rows, "seconds": m["duck"],
         "floor": "duckdb count(*) of the same files and columns",
         "floor_seconds": m["duck_floor"], "ratio": m["duck"] / m["duck_floor"]},
    ]  # fmt: skip


if __name__ == "__main__":
    import sys

    for row in bench_spark(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0):
        print(row)
