"""The day's events, read once: every line parsed, split by the suite's critical checks, counted.

The files are read as text and each line parsed with the explicit schema (`from_json`), so that
a line keeps its exact text and its number: a line that is not one JSON object is malformed (a
top-level array, a bare value, text after the object, bytes that are not UTF-8), a blank line is
no event. (Two objects back to back on one line are read as the first: Spark's parser stops
after one value, and telling them apart would take a second parse of every line.) Both
spellings of the spaced keys become one column, named as the suite names it (`page_name` from
`Page Name` or `PageName`, the spaced one winning). Every key is read as text, as the export
wrote it: numbers and booleans keep their JSON spelling, so the suite judges them and nothing
fails while reading.

`read_day` marks each line as the critical expectations judge it (`is_valid`) as it reads: the
job persists that frame once, and everything after (the counts, GX's report, the validated
Parquet, every output) reads the persisted frame, never the files again. `count_day` counts, in
one pass, per file: lines, events, valid, rejected and malformed ones, and the rows each
row-level expectation flags; `rejected_rows` collects the few unusable lines with their line
number and the expectations they failed.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from tasks.entities import EVENTS

CORRUPT = "_corrupt_record"
MALFORMED = "malformed_line"  # the line, when it is not a JSON object (the suite's column)
# suite column -> the source keys read into it, the spaced spelling first
EVENT_COLUMNS: dict[str, tuple[str, ...]] = {
    column: (key, *(alias for alias, spaced in EVENTS.aliases.items() if spaced == key))
    for key, column in EVENTS.columns.items()
}
RAW_SCHEMA = StructType(
    [StructField(k, StringType()) for keys in EVENT_COLUMNS.values() for k in keys]
    + [StructField(CORRUPT, StringType())]
)
LINEAGE = ("source_file", "split_start", "row_id")  # file name, split, id within the read
TIME_FORMAT = "yyyy-MM-dd HH:mm:ss"


def view_at(at: Column) -> Column:
    """The second of a view: `2017-11-16 13:20:11.000`, `...:11.0000`, `2017-11-16T13:20:11`
    (session time zone UTC: the wall clock as written), fractions dropped. Null when `at` has
    no `HH:mm:ss` (a date alone) or names no real time. A cast, not a regex: it runs per event.
    """
    text = F.ltrim(at)
    has_clock = (F.substring(text, 14, 1) == ":") & (F.substring(text, 17, 1) == ":")
    return F.when(has_clock, F.date_trunc("second", text.try_cast("timestamp")))


def read_lines(spark: SparkSession, paths: list[str]) -> DataFrame:
    """Every line of the files (URLs every executor reaches) with its file, split and id, the
    suite's columns and the malformed line. Ids are taken before anything is filtered, so the
    line numbers `rejected_rows` derives count blank lines too, as an editor does."""
    text = spark.read.text(paths)  # Hadoop's line reader drops a UTF-8 byte-order mark
    options = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT}
    lines = text.select(
        F.col("_metadata.file_name").alias("source_file"),
        F.col("_metadata.file_block_start").alias("split_start"),
        F.monotonically_increasing_id().alias("row_id"),
        F.col("value").alias("line"),
        F.from_json(F.col("value"), RAW_SCHEMA, options).alias("record"),
    )
    line, record = F.col("line"), F.col("record")
    # Trimming copies the line (about 800 bytes), and Spark trimmed each line three times:
    # 2.7 s of a 9 s read of one million events. A line that starts with "{" and ends with
    # "}", as nearly all do, is judged without it; `when` evaluates its branch only when the
    # condition asks for it.
    opens = line.startswith("{")
    text = F.btrim(line, F.lit(" \t"))
    blank = F.when(opens, F.lit(False)).otherwise(text == "")
    # one JSON object: Spark's parser stops after the first value, so trailing text is caught
    # here; bytes that are not UTF-8 would be read as U+FFFD, garbled, so they are malformed.
    # Judged once per line, in a projection of its own: written inline in every column's
    # `when`, the line would be checked once per column (about forty times).
    trimmed_shape = text.startswith("{") & text.endswith("}")
    bare = opens & line.endswith("}")
    shaped = F.when(bare, F.lit(True)).otherwise(trimmed_shape) & F.is_valid_utf8(line)
    judged = lines.select(
        *LINEAGE,
        "line",
        "record",
        blank.alias("is_blank"),
        (~blank & shaped & record.getField(CORRUPT).isNull()).alias("_parsed"),
    )
    parsed = F.col("_parsed")
    return judged.select(
        *LINEAGE,
        "line",
        "is_blank",
        *(
            F.when(parsed, F.coalesce(*(record.getField(k) for k in keys))).alias(column)
            for column, keys in EVENT_COLUMNS.items()
        ),
        F.when(~F.col("is_blank") & ~parsed, F.col("line")).alias(MALFORMED),
    )


def read_day(spark: SparkSession, paths: list[str], critical: dict[str, Column]) -> DataFrame:
    """The lines with what every later step needs, not yet persisted: `is_valid` (an event no
    critical expectation flags), one flag per critical check, the line kept only when it is
    rejected, and the identified student's id and client and the view's second."""
    lines = read_lines(spark, paths)
    flags = {name: F.col(name) for name in _flag_names(critical)}
    checked = lines.select(
        "*",
        *(
            ((~F.col("is_blank")) & check).alias(n)
            for n, check in zip(flags, critical.values(), strict=True)
        ),
    )
    failed = F.lit(False)
    for flag in flags.values():
        failed = failed | flag
    valid = ~F.col("is_blank") & ~failed
    key = F.trim(F.col("student_id_client_type"))
    identified = valid & key.isNotNull() & (key != "")
    parts = F.split(key, "@", 2)
    return checked.select(
        *(c for c in checked.columns if c != "line"),
        valid.alias("is_valid"),
        F.when(~F.col("is_blank") & ~valid & F.col(MALFORMED).isNull(), F.col("line")).alias(
            "rejected_line"
        ),
        identified.alias("is_identified"),
        F.when(identified, F.get(parts, 0)).alias("student_id"),
        F.when(identified, F.get(parts, 1)).alias("client"),  # null when there is no '@'
        view_at(F.col("at")).alias("view_at"),
    )


def events(day: DataFrame) -> DataFrame:
    """The events of the day: every line but the blank ones."""
    return day.where(~F.col("is_blank"))


def valid_events(day: DataFrame) -> DataFrame:
    return day.where(F.col("is_valid"))


def _flag_names(critical: dict[str, Column]) -> list[str]:
    return [f"_critical_{i}" for i in range(len(critical))]


@dataclass
class DayCounts:
    """What `count_day` found: the manifest's counts, per file and per expectation."""

    events: dict[str, int]  # read, valid, rejected, malformed, identified, anonymous, null_country
    files: dict[str, dict[str, int]]  # file name -> read, valid, rejected, malformed
    unexpected: dict[str, int]  # expectation label -> rows it flags (the split's count)
    critical: frozenset[str]  # the labels of the critical expectations
    flagged: int  # events flagged by any row-level expectation, critical or not
    splits: dict[tuple[str, int], tuple[int, int]] = field(default_factory=dict)  # id, offset

    @property
    def unusable(self) -> int:
        return self.events["rejected"] + self.events["malformed"]


_PER_FILE = ("read", "valid", "rejected", "malformed")


def count_day(
    day: DataFrame,
    checks: dict[str, Column],
    critical: dict[str, Column],
    files: Iterable[str] = (),
) -> DayCounts:
    """One pass over the persisted day: per split of each file, its first row id and line
    count (for line numbers), and the counts; `checks` are every row-level expectation's.
    `files` (names) are listed even when they hold no line: an empty part is a file of the
    day too."""
    blank = F.col("is_blank")
    event = ~blank
    malformed = F.col(MALFORMED).isNotNull()
    identified = F.col("is_identified")
    country = F.coalesce(F.trim(F.col("country")), F.lit(""))
    critical_flags = dict(zip(critical, _flag_names(critical), strict=True))
    counters = {
        "read": event,
        "valid": F.col("is_valid"),
        "malformed": malformed,
        "rejected": event & ~F.col("is_valid") & ~malformed,
        "identified": identified,
        "null_country": identified & (country == ""),
    }
    labels = list(checks)
    any_check = F.lit(False)
    for check in checks.values():
        any_check = any_check | check
    expected = [
        F.count_if(F.col(critical_flags[n]) if n in critical_flags else event & checks[n])
        for n in labels
    ]
    rows = (
        day.groupBy("source_file", "split_start")
        .agg(
            F.min("row_id").alias("first_id"),
            F.count(F.lit(1)).alias("lines"),
            *(F.count_if(c).alias(n) for n, c in counters.items()),
            F.array(*expected).alias("unexpected"),
            F.count_if(event & any_check).alias("flagged"),
        )
        .collect()
    )
    totals: dict[str, int] = dict.fromkeys(counters, 0)
    flagged = 0
    per_file: dict[str, dict[str, int]] = {f: dict.fromkeys(_PER_FILE, 0) for f in files}
    unexpected = dict.fromkeys(labels, 0)
    splits: dict[tuple[str, int], tuple[int, int]] = {}
    offsets: dict[str, int] = defaultdict(int)
    for row in sorted(rows, key=lambda r: (r["source_file"], r["split_start"])):
        flagged += row["flagged"]
        for name in counters:
            totals[name] += row[name]
        counted = per_file.setdefault(row["source_file"], dict.fromkeys(_PER_FILE, 0))
        for name in _PER_FILE:
            counted[name] += row[name]
        for name, count in zip(labels, row["unexpected"], strict=True):
            unexpected[name] += count
        splits[(row["source_file"], row["split_start"])] = (
            row["first_id"],
            offsets[row["source_file"]],
        )
        offsets[row["source_file"]] += row["lines"]
    totals["anonymous"] = totals["valid"] - totals["identified"]
    return DayCounts(
        dict(sorted(totals.items())), dict(sorted(per_file.items())), unexpected,
        frozenset(critical), flagged, splits,
    )  # fmt: skip


@dataclass(frozen=True)
class Reject:
    """An unusable line: where it is, why, and its exact text."""

    source_file: str
    line_number: int
    reasons: tuple[str, ...]
    line: str
    malformed: bool  # not one JSON object: its record is its text

    def record(self) -> Any:
        """What the line held: the object (a rejected event), or the text (a malformed line)."""
        return self.line if self.malformed else json.loads(self.line)


def rejected_rows(
    day: DataFrame, counts: DayCounts, critical: dict[str, Column], limit: int
) -> list[Reject]:
    """The first `limit` rejected and malformed lines, in file and line order, with their line
    numbers and the critical expectations they failed (a malformed line: only that one, it
    carries no field to judge)."""
    flags = dict(zip(critical, _flag_names(critical), strict=True))
    malformed_label = next(n for n in critical if f"({MALFORMED})" in n)
    reasons = F.array_compact(F.array(*(F.when(F.col(f), F.lit(n)) for n, f in flags.items())))
    found = (
        day.where(~F.col("is_blank") & ~F.col("is_valid"))
        .select(
            "source_file", "split_start", "row_id",
            F.coalesce(MALFORMED, "rejected_line").alias("text"),
            F.col(MALFORMED).isNotNull().alias("is_malformed"), reasons.alias("reasons"),
        )
        .orderBy("source_file", "split_start", "row_id")
        .limit(limit)
        .collect()
    )  # fmt: skip
    rejects = []
    for row in found:
        first_id, offset = counts.splits[(row["source_file"], row["split_start"])]
        failed = (malformed_label,) if row["is_malformed"] else tuple(row["reasons"])
        number = offset + row["row_id"] - first_id + 1
        rejects.append(Reject(row["source_file"], number, failed, row["text"], row["is_malformed"]))
    return rejects


def malformed_sample(day: DataFrame, limit: int) -> list[tuple[str, str]]:
    """Up to `limit` malformed lines as (file name, line), in a stable order."""
    rows = (
        day.where(F.col(MALFORMED).isNotNull())
        .select("source_file", MALFORMED)
        .orderBy("source_file", MALFORMED)
        .limit(limit)
        .collect()
    )
    return [(r["source_file"], r[MALFORMED]) for r in rows]


def suite_frame(day: DataFrame, columns: Iterable[str]) -> DataFrame:
    """What GX validates: the events (blank lines are none) in the suite's columns."""
    return events(day).select(*columns)
