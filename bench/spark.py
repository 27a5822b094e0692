"""The Spark analytics job against its scan floor, and DuckDB as the one-machine alternative.

One generated day, one SparkSession (built by tasks.resources.spark from the default settings):
the floor is reading the same files with the same schema and counting them (measured before and
after the job, best of two, after a warm-up scan so JIT and page cache favour nobody). The job
runs twice: all outputs with the manifest, and only the case study's three CSVs, which is the
work DuckDB does in the last row, with the same rules, checked to give the same rows.
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
from pyspark import StorageLevel
from pyspark.sql import functions as F

from tasks.analytics import keyed, outputs
from tasks.analytics.job import (
    ORIGINAL_OUTPUTS,
    read_students,
    run_job,
    write_rows_csv,
    write_single_csv,
)
from tasks.generator.day import generate
from tasks.resources.lake import Lake
from tasks.settings import CASE_STUDY_DATE

DUCKDB_SQL = Path(__file__).with_name("spark_duckdb.sql")


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


def spark_original_three(spark, paths: list[str], students: str, out: Path) -> None:
    """The case study's job alone: read once, country.csv, users.csv, full.csv."""
    day = outputs.read_events(spark, paths).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        out.mkdir(parents=True, exist_ok=True)
        names = ("country", "users")
        tables, _ = keyed.split(keyed.event_counts(day, names).collect(), names)
        for name in names:
            write_rows_csv(keyed.KEYED[name].header, tables[name], out / f"{name}.csv")
        full = outputs.full_events(outputs.identified_events(day), read_students(spark, students))
        write_single_csv(full, out / "full.csv")
    finally:
        day.unpersist()


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


DUCKDB_COLUMNS = {key: "VARCHAR" for key in (
    "studentId_clientType", "country", "custom_4", "at", "browser",
    "Page Name", "PageName", "Last Accessed Url", "LastAccessedUrl",
)}  # fmt: skip


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


def _parse_floor(spark, paths: list[str]) -> float:
    """Reading the files into the job's columns, counting each: what any output costs first."""
    events = outputs.read_events(spark, paths)
    return _timed(lambda: events.agg(*(F.count(c) for c in events.columns)).collect())[0]


def _driver_peak_gb() -> float:
    """Peak resident memory of the driver JVM (local mode: executors included)."""
    from pyspark import SparkContext

    status = Path(f"/proc/{SparkContext._gateway.proc.pid}/status").read_text()
    line = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 2**20


def _measure(spark, paths: list[str], students: str, work: Path, run_date: date) -> dict:
    def floor() -> float:
        read = spark.read.schema(outputs.EVENT_SCHEMA).option("mode", "PERMISSIVE")
        return _timed(lambda: read.json(paths).count())[0]

    floor()  # warm-up: JIT, page cache
    floors = [floor()]
    parse = _parse_floor(spark, paths)
    job, summary = _timed(lambda: run_job(spark, paths, students, work / "all", run_date))
    three, _ = _timed(lambda: spark_original_three(spark, paths, students, work / "spark3"))
    floors.append(floor())
    duck, _ = _timed(lambda: duckdb_original_three(paths, students, work / "duck3"))
    for name in ORIGINAL_OUTPUTS:  # the alternative must compute the same thing
        if _rows(work / "duck3" / f"{name}.csv") != _rows(work / "spark3" / f"{name}.csv"):
            raise AssertionError(f"duckdb's {name}.csv differs from Spark's")
    return {"floor": min(floors), "parse": parse, "job": job, "three": three, "duck": duck,
            "duck_floor": duckdb_floor(paths), "events": summary["_events"]["read"],
            "peak_gb": _driver_peak_gb(), "counts": summary["_events"]}  # fmt: skip


def bench_spark(scale: float, seed: int = 7, run_date: date = CASE_STUDY_DATE) -> list[dict]:
    """Generate a day (not timed), then time the job, its floor, and DuckDB on it."""
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
    floor = "spark read.json(schema).count(), same session"
    rows = m["events"]
    return [
        {"stage": "spark job: 10 outputs + manifest", "rows": rows, "seconds": m["job"],
         "floor": floor, "floor_seconds": m["floor"], "ratio": m["job"] / m["floor"],
         "parse_floor_seconds": m["parse"], "ratio_to_parse": m["job"] / m["parse"],
         "driver_peak_gb": round(m["peak_gb"], 2), "events": m["counts"]},
        {"stage": "spark: the 3 original outputs", "rows": rows, "seconds": m["three"],
         "floor": floor, "floor_seconds": m["floor"], "ratio": m["three"] / m["floor"]},
        {"stage": "duckdb: the 3 original outputs", "rows": rows, "seconds": m["duck"],
         "floor": "duckdb count(*) of the same files and columns",
         "floor_seconds": m["duck_floor"], "ratio": m["duck"] / m["duck_floor"]},
    ]  # fmt: skip


if __name__ == "__main__":
    import sys

    for row in bench_spark(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0):
        print(row)
