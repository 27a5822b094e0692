"""The analytics job: the day's raw events validated, written as Parquet, and every output.

Runs in-process (tasks/analytics/run.py passes a session from tasks.resources.spark) or on its
own under spark-submit (see tasks/analytics/README.md):

    spark-submit tasks/analytics/job.py --run-date 2017-11-16 \\
        --events 'file:///srv/lake/raw/2017-11-16/part-*.json' \\
        --students file:///srv/lake/temp/2017-11-16/warehouse/student_flat.parquet \\
        --out file:///srv/lake/temp/2017-11-16/analytics

One pass over the files: each line is parsed with the explicit schema and marked by the events
suite's critical expectations as it is read (tasks/analytics/day.py), and that frame is
persisted once. Then, all from the persisted frame: the counts and the split's per-expectation
counts (one pass), GX's report, the rejected lines (few: bounded by the reject threshold)
collected to the driver, the valid events written once as Parquet, and the outputs. The valid
frame never passes through the driver. Everything is read and written by URL (`file://` on a
shared mount, or an object store), never through the driver's local disk.

Each output is one UTF-8 CSV with a header (RFC 4180 quoting, empty field for null, "\\n" line
ends). full.csv and active_students.csv are sorted by Spark across partitions and written as
ordered part files, concatenated by the driver into one file; the keyed outputs (a few
thousand rows) are collected and written by the driver.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a script (spark-submit): make the `tasks` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import argparse  # noqa: E402
import csv  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Iterable, Iterator, Sequence  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from datetime import date  # noqa: E402
from pathlib import PurePosixPath  # noqa: E402
from typing import Any  # noqa: E402

from pyspark import StorageLevel  # noqa: E402
from pyspark.sql import DataFrame, Observation, SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

from tasks.analytics import day as days  # noqa: E402
from tasks.analytics import keyed, outputs  # noqa: E402
from tasks.analytics.manifest import (  # noqa: E402
    FULL_PARQUET,
    MANIFEST_NAME,
    REJECTED_NAME,
    SAMPLE_NAME,
    VALIDATION_NAME,
    build_manifest,
)
from tasks.errors import DataError  # noqa: E402
from tasks.quality import events as suite  # noqa: E402
from tasks.resources.spark_work import WorkFiles, Written, as_url, join  # noqa: E402

ORIGINAL_OUTPUTS = ("country", "users", "full")  # the case study's, unchanged
NEW_OUTPUTS = (
    "states", "hours", "clients", "categories", "universities", "courses", "active_students",
)  # fmt: skip
OUTPUTS = ORIGINAL_OUTPUTS + NEW_OUTPUTS
# Deserialized: PySpark's MEMORY_AND_DISK stores each cached batch serialized, to be
# deserialized at every scan (the day is scanned about ten times); 1 to 4 s less on one
# million events, for about as much memory (BENCHMARKS.md).
CACHED = StorageLevel.MEMORY_AND_DISK_DESER
SAMPLE_LIMIT = 100  # malformed lines kept in the sample; all of them are counted
REFUSED_LIMIT = 1000  # rejected lines kept when a day is refused over its threshold

_CSV_OPTIONS = {
    "header": "false",  # the driver writes the header once, before the parts
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


class EventsRefused(DataError):
    """The day's events cannot be published (too many rejected, none valid, the suite broken);
    `result` holds what the job found, so that the caller records the validation and
    publishes the quarantine file before failing."""

    def __init__(self, message: str, result: dict[str, Any]) -> None:
        super().__init__(message)
        self.result = result


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence]) -> tuple[bytes, int]:
    """A small output collected on the driver, in the dialect Spark writes the big ones."""
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
        count += 1
    return text.getvalue().encode("utf-8"), count


def write_sorted_csv(frame: DataFrame, files: WorkFiles, out: str, name: str) -> Written:
    """A sorted frame as one CSV at <out>/<name>.csv: Spark writes its ordered part files in
    parallel and counts the rows as it writes them (an Observation, no second pass); the
    driver streams the header and the parts into the file."""
    parts = join(out, "_parts", name)
    observed = Observation(name)
    frame.observe(observed, F.count(F.lit(1)).alias("rows")).write.mode("overwrite").options(
        **_CSV_OPTIONS
    ).csv(parts)
    header, _ = csv_bytes(frame.columns, [])
    return files.concatenate(parts, join(out, f"{name}.csv"), header, observed.get["rows"])


def write_validated(day: DataFrame, url: str, source_prefix: str) -> int:
    """The valid events as Parquet at `url` (the day's partition), lineage included; returns
    the rows Spark wrote, counted as it wrote them."""
    observed = Observation("validated")
    frame = days.valid_events(day).select(
        *days.EVENT_COLUMNS,
        F.concat(F.lit(source_prefix), F.col("source_file")).alias("source_file"),
    )
    frame.observe(observed, F.count(F.lit(1)).alias("rows")).write.mode("overwrite").parquet(url)
    return int(observed.get["rows"])


def read_students(spark: SparkSession, students: str | DataFrame) -> DataFrame:
    """The warehouse's students, as strings: a Parquet export's URL, or a frame (JDBC)."""
    frame = spark.read.parquet(students) if isinstance(students, str) else students
    missing = [c for c in outputs.STUDENT_COLUMNS if c not in frame.columns]
    if missing:
        where = students if isinstance(students, str) else "the students frame"
        raise DataError(
            f"{where} lacks the column(s) {', '.join(missing)}; the students export "
            f"must have {', '.join(outputs.STUDENT_COLUMNS)}."
        )
    return frame.select(*(F.col(c).cast("string").alias(c) for c in outputs.STUDENT_COLUMNS))


def jsonl(lines: Iterable[dict[str, Any]]) -> bytes:
    """JSON Lines, UTF-8; a lone surrogate (a `\\ud800` escape in the source) stays escaped."""
    out = io.BytesIO()
    for line in lines:
        try:
            out.write(json.dumps(line, ensure_ascii=False).encode("utf-8") + b"\n")
        except UnicodeEncodeError:
            out.write(json.dumps(line).encode("utf-8") + b"\n")
    return out.getvalue()


def quarantine_lines(
    rejects: list[days.Reject], source_prefix: str, load_id: str | None
) -> list[dict[str, Any]]:
    """One quarantine line per unusable line: where, why, and the record (the parsed object,
    or the line's text when it is not one)."""
    found = []
    for reject in rejects:
        line = {
            "source_file": f"{source_prefix}{reject.source_file}",
            "source_row": reject.line_number,
            "failed_expectations": list(reject.reasons),
            "record": reject.record(),
        }
        found.append({**line, "load_id": load_id} if load_id else line)
    return found


def verdict(counts: days.DayCounts, broken: list[str], threshold: float) -> str | None:
    """Why the day cannot be published, or None. Unusable lines (rejected or malformed) above
    the threshold, no event at all, or a suite that could not run all stop it."""
    read, unusable = counts.events["read"], counts.unusable
    if broken:
        return f"the events suite could not run: {'; '.join(broken)}."
    if read == 0:
        return "the day's event files hold no events at all (every part file is empty)."
    if counts.events["valid"] == 0 or unusable / read > threshold:
        top = Counter({n: c for n, c in counts.unexpected.items() if n in counts.critical})
        listed = "; ".join(f"{n} ({c:,} rows)" for n, c in top.most_common(3) if c)
        return (
            f"{unusable:,} of {read:,} events ({unusable / read:.2%}) are unusable "
            f"({counts.events['rejected']:,} rejected, {counts.events['malformed']:,} malformed), "
            f"above the events suite's {threshold:.2%} reject threshold. Top failing "
            f"expectations: {listed}."
        )
    return None


@contextmanager
def _lap(seconds: dict[str, float], name: str) -> Iterator[None]:
    """Seconds spent per step of the job, for the run's log and the benchmark."""
    started = time.perf_counter()
    try:
        yield
    finally:
        seconds[name] = round(seconds.get(name, 0.0) + time.perf_counter() - started, 3)


def check_events(
    day: DataFrame,
    names: list[str],
    found: list[dict[str, Any]],
    files: WorkFiles,
    out: str,
    source_prefix: str,
    load_id: str | None,
    seconds: dict[str, float],
) -> tuple[days.DayCounts, dict[str, Any]]:
    """The events suite over the persisted day (`names`: its files): the split's counts (the
    pass that reads the files), GX's report, the unusable lines collected and quarantined in
    the job's folder, the malformed sample. Raises EventsRefused when the day cannot be
    published."""
    from tasks.quality.validate import reject_threshold

    checks = {name: check for name, (_, check) in suite.row_checks(found).items()}
    critical = suite.critical_checks(found)
    with _lap(seconds, "read_and_split"):  # the pass that reads the files and fills the cache
        counts = days.count_day(day, checks, critical, names)
    with _lap(seconds, "gx_report"):
        result = suite.validate_day(days.suite_frame(day, suite.columns(found)), found)
    threshold = reject_threshold(suite.SUITE)
    problem = verdict(counts, suite.broken(result), threshold)
    with _lap(seconds, "quarantine"):
        limit = REFUSED_LIMIT if problem else max(counts.unusable, 1)
        rejects = days.rejected_rows(day, counts, critical, limit) if counts.unusable else []
        quarantined = quarantine_lines(rejects, source_prefix, load_id)
        lines = days.malformed_sample(day, SAMPLE_LIMIT) if counts.events["malformed"] else []
        sample = jsonl({"file": f, "line": text} for f, text in lines)
        found_so_far = {
            "_events": counts.events,
            "_files": counts.files,
            "_validation": _validation(result, counts, threshold),
            "_rejects": rejects,
            "_rejected": files.write_bytes(
                join(out, REJECTED_NAME), jsonl(quarantined), len(quarantined)
            ).entry(),
            "_sample": files.write_bytes(join(out, SAMPLE_NAME), sample, len(lines)).entry(),
            "_seconds": seconds,
        }
        report = json.dumps(found_so_far["_validation"], indent=2, sort_keys=True)
        files.write_bytes(join(out, VALIDATION_NAME), report.encode() + b"\n", 0)
    if problem:
        raise EventsRefused(f"{problem} Nothing was published.", found_so_far)
    return counts, found_so_far


def run_job(
    spark: SparkSession,
    event_paths: list[str],
    students: str | DataFrame,
    out: str | Path,
    run_date: date,
    inputs: str | None = None,
    validated: str | None = None,
    source_prefix: str = "",
    load_id: str | None = None,
) -> dict[str, Any]:
    """Validate the day's events, write them as Parquet, then every output and the manifest.

    `out` and `validated` are URLs every executor reaches (a local path is taken as file://);
    `validated` defaults to <out>/validated. `source_prefix` names the files in lineage and
    quarantine ("raw/2017-11-16/"). Returns {output: {"path", "rows", "bytes", "sha256"}} plus
    "_events" (counts), "_files" (per file), "_validation", "_rejects", "_sample", "_rejected",
    "_validated", "_seconds", "_manifest", "_parquet" (full's rows as Parquet part files,
    in `<out>/full/`) and "_matches" (`day_matches`). Raises EventsRefused when the day cannot be
    published.
    """
    from tasks.settings import get_settings

    if not event_paths:
        raise DataError("the analytics job was given no event files; nothing to read.")
    out = as_url(out)
    validated = as_url(validated) if validated else join(out, "validated")
    files = WorkFiles(dict(get_settings().lake_options))
    found = suite.expectations(get_settings().events_opt_in_checks)
    # view times are wall clock as written: no zone may shift them (or hit a DST gap)
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    critical = suite.critical_checks(found)
    day = days.read_day(spark, list(event_paths), critical).persist(CACHED)
    known = read_students(spark, students).persist(CACHED)
    seconds: dict[str, float] = {}
    try:
        names = [PurePosixPath(p).name for p in event_paths if not set("*?[{") & set(p)]
        counts, checked = check_events(
            day, names, found, files, out, source_prefix, load_id, seconds
        )
        with _lap(seconds, "validated_parquet"):
            rows = write_validated(day, validated, source_prefix)
        if rows != counts.events["valid"]:
            raise DataError(
                f"{counts.events['valid']:,} events were valid but {rows:,} were written to "
                f"{validated}; the outputs are not published."
            )
        with _lap(seconds, "outputs"):
            written, matches = write_outputs(day, known, files, out)
        manifest = build_manifest(
            run_date, written, counts.events, checked["_sample"], inputs,
            rejected=checked["_rejected"], validated_rows=rows,
            parquet=files.listing(join(out, FULL_PARQUET), "part-*.parquet"), matches=matches,
        )  # fmt: skip
        text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
        files.write_bytes(join(out, MANIFEST_NAME), text.encode("utf-8"), 0)
        return {
            **{name: w.entry() for name, w in written.items()},
            **checked,
            "_validated": {"path": validated, "rows": rows},
            "_manifest": {"path": join(out, MANIFEST_NAME)},
            "_parquet": {"path": join(out, FULL_PARQUET), "rows": written["full"].rows},
            "_matches": matches,
        }
    finally:
        for frame in (known, day):
            frame.unpersist()


def day_matches(today: DataFrame) -> dict[str, int]:
    """How the day's identified page views and students match the warehouse's students, from
    the persisted students of the day (one small pass): what the match guard compares."""
    known = F.col("in_warehouse")
    row = today.agg(
        F.count(F.lit(1)).alias("students_seen"),
        F.count(F.when(known, 1)).alias("students_known"),
        F.coalesce(F.sum("page_views"), F.lit(0)).alias("identified_views"),
        F.coalesce(F.sum(F.when(known, F.col("page_views"))), F.lit(0)).alias("matched_views"),
    ).first()
    return {name: int(row[name] or 0) for name in row.asDict()}


def write_outputs(
    day: DataFrame, known: DataFrame, files: WorkFiles, out: str
) -> tuple[dict[str, Written], dict[str, int]]:
    """Every output from the persisted day: the keyed ones from one pass over the events and
    one over the day's students, collected; full.csv and active_students.csv by Spark. Also
    returns the day's matches (`day_matches`)."""
    identified = outputs.identified_events(day)
    today = outputs.students_of_day(identified, known).persist(CACHED)
    try:
        found = keyed.event_counts(day).collect() + keyed.student_counts(today).collect()
        tables = keyed.split(found, keyed.KEYED)
        written: dict[str, Written] = {}
        for name in OUTPUTS:
            if name in tables:
                data, rows = csv_bytes(keyed.KEYED[name].header, tables[name])
                written[name] = files.write_bytes(join(out, f"{name}.csv"), data, rows)
            elif name == "full":  # the CSV, and the same rows as Parquet for DuckDB
                frame = outputs.full_events(identified, known).persist(CACHED)
                try:
                    written[name] = write_sorted_csv(frame, files, out, name)
                    frame.write.mode("overwrite").parquet(join(out, FULL_PARQUET))
                finally:
                    frame.unpersist()
            else:
                frame = outputs.active_students(today)
                written[name] = write_sorted_csv(frame, files, out, name)
        files.remove(join(out, "_parts"))
        return written, day_matches(today)
    finally:
        today.unpersist()


def _validation(result: Any, counts: days.DayCounts, threshold: float) -> dict[str, Any]:
    """What the run records of the validation: GX's report, the split's counts beside GX's,
    the share rejected and the threshold."""
    return {
        "success": bool(result.success),
        "report": suite.report(result),
        "unexpected": counts.unexpected,
        "gx_unexpected": suite.unexpected_counts(result),
        "rows_unexpected": counts.flagged,
        "threshold": threshold,
    }


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="job.py",
        description="Validate one day's events and write them as Parquet, the analytics "
        "outputs and their manifest.",
    )
    parser.add_argument(
        "--events", nargs="+", required=True, help="event JSON Lines files or globs (URLs)"
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--students", help="students Parquet file or folder (the export)")
    source.add_argument(
        "--students-jdbc",
        action="store_true",
        help="read the students as of --run-date by JDBC from PDBI_DATABASE_URL (pass the "
        "driver with --jars)",
    )
    parser.add_argument("--out", required=True, help="folder (URL) for the outputs")
    parser.add_argument(
        "--validated", help="folder (URL) for the validated events' Parquet; <out>/validated"
    )
    parser.add_argument(
        "--run-date", required=True, type=date.fromisoformat, help="the day, YYYY-MM-DD"
    )
    return parser.parse_args(argv)


def _warehouse_by_jdbc(spark: SparkSession, run_date: date) -> DataFrame:
    """Imported here: only --students-jdbc needs psycopg on the driver. The students as of the
    run date, as the Parquet export holds them."""
    from tasks.resources import postgres
    from tasks.resources.spark import read_warehouse_students

    return read_warehouse_students(spark, postgres.database_url(), run_date)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """spark-submit entry: spark-submit sets the master, so the session comes from getOrCreate.

    A session already active in this process (an in-process call) is reused and left running;
    one created here is stopped here.
    """
    args = _parse_args(argv)
    active = SparkSession.getActiveSession()
    spark = active or SparkSession.builder.appName("pdbi-analytics").getOrCreate()
    try:
        students = (
            as_url(args.students) if args.students else _warehouse_by_jdbc(spark, args.run_date)
        )
        events = [as_url(p) for p in args.events]
        summary = run_job(spark, events, students, args.out, args.run_date, None, args.validated)
    finally:
        if active is None:
            spark.stop()
    shown = {k: v for k, v in summary.items() if k not in ("_rejects", "_validation")}
    print(json.dumps(shown, indent=2, sort_keys=True))
    return summary


if __name__ == "__main__":
    main()
