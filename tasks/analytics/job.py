"""The analytics job: the day's events and the warehouse's students -> three CSV files.

Runs in-process (flows/analytics.py passes a session from tasks.resources.spark) or on its own:

    spark-submit tasks/analytics/job.py --events 'data/lake/raw/part-*.json' \
        --students students.parquet --out data/out

Each output is one UTF-8 CSV with a header (RFC 4180 quoting, empty field for null, "\n"
line ends), written by Spark into a scratch folder and moved into place, so readers never see
a half-written file and full.csv (~1M rows) never passes through the driver.
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
from collections.abc import Callable, Sequence  # noqa: E402

from pyspark.sql import DataFrame, SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

from tasks.analytics import outputs  # noqa: E402
from tasks.errors import DataError  # noqa: E402

OUTPUTS = ("country", "users", "full")

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


def read_students(spark: SparkSession, students_parquet: str) -> DataFrame:
    """The warehouse's students, as strings, whatever types the export wrote."""
    students = spark.read.parquet(students_parquet)
    missing = [c for c in outputs.STUDENT_COLUMNS if c not in students.columns]
    if missing:
        raise DataError(
            f"{students_parquet} lacks the column(s) {', '.join(missing)}; the students export "
            f"must have {', '.join(outputs.STUDENT_COLUMNS)}."
        )
    return students.select(*(F.col(c).cast("string").alias(c) for c in outputs.STUDENT_COLUMNS))


def run_job(
    spark: SparkSession, event_paths: list[str], students_parquet: str, out_dir: Path
) -> dict[str, dict]:
    """Read the events once, compute and write the three outputs, and report their counts."""
    if not event_paths:
        raise DataError("the analytics job was given no event files; nothing to read.")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    events = outputs.read_events(spark, list(event_paths))
    try:
        identified = outputs.identified_events(events)
        students = read_students(spark, students_parquet)
        builders: dict[str, Callable[[], DataFrame]] = {
            "country": lambda: outputs.country_counts(identified),
            "users": lambda: outputs.user_profiles(identified),
            "full": lambda: outputs.full_events(identified, students),
        }
        summary: dict[str, dict] = {}
        for name in OUTPUTS:
            target = out_dir / f"{name}.csv"
            rows = write_single_csv(builders[name](), target)
            summary[name] = {"path": str(target), "rows": rows}
        totals = events.agg(
            F.count(F.lit(1)).alias("read"),
            F.count_if(F.col("is_malformed")).alias("malformed"),
        ).first()
        summary["_events"] = {
            "read": int(totals["read"]),
            "malformed": int(totals["malformed"]),
            "identified": identified.count(),
        }
        return summary
    finally:
        events.unpersist()


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="job.py", description="Write country.csv, users.csv and full.csv from a day's events."
    )
    parser.add_argument(
        "--events", nargs="+", required=True, help="event JSON Lines files or globs"
    )
    parser.add_argument("--students", required=True, help="students Parquet file or folder")
    parser.add_argument("--out", required=True, type=Path, help="folder for the three CSVs")
    return parser.parse_args(argv)


def expand_paths(patterns: Sequence[str]) -> list[str]:
    """Local globs expanded and sorted (Spark warns with a stack trace on a glob path);
    anything matching nothing locally (a remote URL, a missing file) goes to Spark as given."""
    paths: list[str] = []
    for pattern in patterns:
        paths.extend(sorted(glob.glob(pattern)) or [pattern])
    return paths


def main(argv: Sequence[str] | None = None) -> dict[str, dict]:
    """spark-submit entry: spark-submit sets the master, so the session comes from getOrCreate.

    A session already active in this process (an in-process call) is reused and left running;
    one created here is stopped here.
    """
    args = _parse_args(argv)
    active = SparkSession.getActiveSession()
    spark = active or SparkSession.builder.appName("pdbi-analytics").getOrCreate()
    try:
        summary = run_job(spark, expand_paths(args.events), args.students, args.out)
    finally:
        if active is None:
            spark.stop()
    print(json.dumps(summary, indent=2, sort_keys=True))
    return summary


if __name__ == "__main__":
    main()
