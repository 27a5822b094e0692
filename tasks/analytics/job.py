"""The analytics job: the day's events and the warehouse's students -> CSV files + manifest.

Runs in-process (tasks/analytics/run.py passes a session from tasks.resources.spark) or on its
own under spark-submit (see tasks/analytics/README.md):

    spark-submit tasks/analytics/job.py --run-date 2017-11-16 \
        --events 'data/lake/raw/2017-11-16/part-*.json' --students students.parquet --out out

Each output is one UTF-8 CSV with a header (RFC 4180 quoting, empty field for null, "\n"
line ends), written under a temporary name and moved into place, so readers never see a
half-written file. full.csv (~1M rows) and active_students.csv are written by Spark and never
pass through the driver; the keyed outputs (a few thousand rows) are written by the driver.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a script (spark-submit): make the `tasks` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import argparse  # noqa: E402
import csv  # noqa: E402
import glob  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable, Iterable, Sequence  # noqa: E402
from datetime import date  # noqa: E402

from pyspark import StorageLevel  # noqa: E402
from pyspark.sql import DataFrame, SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

from tasks.analytics import keyed, outputs  # noqa: E402
from tasks.analytics.manifest import (  # noqa: E402
    MANIFEST_NAME,
    SAMPLE_NAME,
    build_manifest,
    write_manifest,
)
from tasks.errors import DataError  # noqa: E402

ORIGINAL_OUTPUTS = ("country", "users", "full")  # the case study's, unchanged
NEW_OUTPUTS = (
    "states", "hours", "clients", "categories", "universities", "courses", "active_students",
)  # fmt: skip
OUTPUTS = ORIGINAL_OUTPUTS + NEW_OUTPUTS
SAMPLE_LIMIT = 100  # malformed lines kept in quarantine/<day>/; all of them are counted

_CSV_OPTIONS = {
    "header": "true",
    "sep": ",",
    "quote": '"',
    "escape": '"',  # Spark's default is a backslash; RFC 4180 doubles the quote instead
    "nullValue": "",
    "emptyValue": "",  # Spark's default writes "" for empty strings
    "ignoreLeadingWhiteSpace": "false",  # Spark's writer trims by default
    "ignoreTrailingWhiteSpace": "false",
    "encoding": "UTF-8",
    "lineSep": "\n",
}


def write_single_csv(frame: DataFrame, target: Path) -> int:
    """Write `frame` as one CSV file at `target`, in the frame's order; return its data rows.

    coalesce(1) after the outputs' orderBy keeps the global order (it concatenates the
    sorted range partitions without a shuffle); the part file is renamed over the target.
    """
    scratch = target.parent / f"_tmp_{target.stem}_{uuid.uuid4().hex[:8]}"
    try:
        frame.coalesce(1).write.mode("overwrite").options(**_CSV_OPTIONS).csv(str(scratch))
        parts = sorted(scratch.glob("part-*.csv"))
        if len(parts) != 1:
            raise RuntimeError(f"expected one CSV part file in {scratch}, found {len(parts)}")
        os.replace(parts[0], target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return _count_rows(target)


def _count_rows(path: Path) -> int:
    """Data rows (records, not lines: a quoted value may hold a newline)."""
    with open(path, encoding="utf-8", newline="") as handle:
        return max(sum(1 for _ in csv.reader(handle)) - 1, 0)


def read_students(spark: SparkSession, students: str | DataFrame) -> DataFrame:
    """The warehouse's students, as strings: a Parquet export's path, or a frame (JDBC)."""
    frame = spark.read.parquet(students) if isinstance(students, str) else students
    missing = [c for c in outputs.STUDENT_COLUMNS if c not in frame.columns]
    if missing:
        where = students if isinstance(students, str) else "the students frame"
        raise DataError(
            f"{where} lacks the column(s) {', '.join(missing)}; the students export "
            f"must have {', '.join(outputs.STUDENT_COLUMNS)}."
        )
    return frame.select(*(F.col(c).cast("string").alias(c) for c in outputs.STUDENT_COLUMNS))


def write_sample(rows: list[tuple[str, str]], target: Path) -> dict:
    """The quarantined malformed lines as JSON Lines ({"file", "line"}); empty when none, so
    a rerun over fixed files replaces yesterday's sample."""
    with open(target, "w", encoding="utf-8", newline="\n") as out:
        for source, line in rows:
            out.write(json.dumps({"file": source, "line": line}, ensure_ascii=False) + "\n")
    return {"path": str(target), "rows": len(rows)}


def write_rows_csv(header: Sequence[str], rows: Iterable[Sequence], target: Path) -> int:
    """A small output collected on the driver, in the dialect of write_single_csv."""
    temp = target.with_name(f".{target.name}.tmp")
    with open(temp, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        count = 0
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])
            count += 1
    os.replace(temp, target)
    return count


def _write_output(
    name: str, out_dir: Path, tables: dict[str, list], big: dict[str, Callable[[], DataFrame]]
) -> dict:
    """A keyed output's rows from the driver, or a big output written by Spark."""
    target = out_dir / f"{name}.csv"
    if name in tables:
        rows = write_rows_csv(keyed.KEYED[name].header, tables[name], target)
    else:
        rows = write_single_csv(big[name](), target)
    return {"path": str(target), "rows": rows}


def run_job(
    spark: SparkSession,
    event_paths: list[str],
    students: str | DataFrame,
    out_dir: Path,
    run_date: date,
    inputs: str | None = None,
) -> dict[str, dict]:
    """Read the events once, write every output, the malformed sample and the manifest.

    The files are read once, by the first Spark job (the event counts), into the persisted
    day; the warehouse's students are persisted too (by JDBC each use would be a query); the
    day's students (one row each) are kept for active_students.csv and the per-student counts;
    full.csv is the only other pass over the day.
    Returns {output: {"path", "rows"}} plus "_events" (counts), "_sample" and "_manifest".
    """
    if not event_paths:
        raise DataError("the analytics job was given no event files; nothing to read.")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # view times are wall clock as written: no zone may shift them (or hit a DST gap)
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    day = outputs.read_events(spark, list(event_paths)).persist(StorageLevel.MEMORY_AND_DISK)
    known = read_students(spark, students).persist(StorageLevel.MEMORY_AND_DISK)
    identified = outputs.identified_events(day)
    today = outputs.students_of_day(identified, known).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        found = keyed.event_counts(day).collect()  # reads the files, fills the cache
        found += keyed.student_counts(today).collect()
        tables, counts = keyed.split(found, keyed.KEYED)
        big = {
            "full": lambda: outputs.full_events(identified, known),
            "active_students": lambda: outputs.active_students(today),
        }
        files = {name: _write_output(name, out_dir, tables, big) for name in OUTPUTS}
        lines = outputs.malformed_sample(day, SAMPLE_LIMIT) if counts["malformed"] else []
        sample = write_sample(lines, out_dir / SAMPLE_NAME)
        manifest = out_dir / MANIFEST_NAME
        write_manifest(build_manifest(run_date, files, counts, sample, inputs), manifest)
        return {**files, "_events": counts, "_sample": sample, "_manifest": {"path": str(manifest)}}
    finally:
        for frame in (today, known, day):
            frame.unpersist()


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="job.py", description="Write the analytics outputs and their manifest for one day."
    )
    parser.add_argument(
        "--events", nargs="+", required=True, help="event JSON Lines files or globs"
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--students", help="students Parquet file or folder (the export)")
    source.add_argument(
        "--students-jdbc",
        action="store_true",
        help="read the students as of --run-date by JDBC from PDBI_DATABASE_URL (pass the "
        "driver with --jars)",
    )
    parser.add_argument("--out", required=True, type=Path, help="folder for the outputs")
    parser.add_argument(
        "--run-date", required=True, type=date.fromisoformat, help="the day, YYYY-MM-DD"
    )
    return parser.parse_args(argv)


def expand_paths(patterns: Sequence[str]) -> list[str]:
    """Local globs expanded and sorted (Spark warns with a stack trace on a glob path);
    anything matching nothing locally (a remote URL, a missing file) goes to Spark as given."""
    paths: list[str] = []
    for pattern in patterns:
        paths.extend(sorted(glob.glob(pattern)) or [pattern])
    return paths


def _warehouse_by_jdbc(spark: SparkSession, run_date: date) -> DataFrame:
    """Imported here: only --students-jdbc needs the settings and psycopg on the driver, so the
    Parquet path runs on a cluster with pyspark and this package alone. The students as of the
    run date, as the Parquet export holds them."""
    from tasks.resources import postgres
    from tasks.resources.spark import read_warehouse_students

    return read_warehouse_students(spark, postgres.database_url(), run_date)


def main(argv: Sequence[str] | None = None) -> dict[str, dict]:
    """spark-submit entry: spark-submit sets the master, so the session comes from getOrCreate.

    A session already active in this process (an in-process call) is reused and left running;
    one created here is stopped here.
    """
    args = _parse_args(argv)
    active = SparkSession.getActiveSession()
    spark = active or SparkSession.builder.appName("pdbi-analytics").getOrCreate()
    try:
        students = args.students or _warehouse_by_jdbc(spark, args.run_date)
        summary = run_job(spark, expand_paths(args.events), students, args.out, args.run_date)
    finally:
        if active is None:
            spark.stop()
    print(json.dumps(summary, indent=2, sort_keys=True))
    return summary


if __name__ == "__main__":
    main()
