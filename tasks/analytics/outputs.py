"""Reading the day once, and the outputs Spark writes itself: full.csv and active_students.csv.

Every function takes frames and returns a frame (or a column), so each is tested on a tiny frame;
only `read_events` touches files, through the SparkSession it is given. The events are read once
into "the day": tidy columns, each event marked malformed, identified (it carries
`studentId_clientType`) or anonymous; the job persists it. The outputs with one row per key are
computed in one pass each over the day and over its students, in `keyed.py`.
"""

from __future__ import annotations

from itertools import chain

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, LongType, StringType, StructField, StructType

CORRUPT_COLUMN = "_corrupt_record"

_LONG_KEYS = {"clv_total", "nth"}
_BOOLEAN_KEYS = {"device_new"}
# Every key of a BASE B event (dataset.md), both spellings of the spaced ones.
EVENT_KEYS = (
    "Last Accessed Url", "LastAccessedUrl",
    "Page Category", "PageCategory",
    "Page Category 1", "PageCategory1",
    "Page Category 2", "PageCategory2",
    "Page Category 3", "PageCategory3",
    "Page Name", "PageName",
    "at", "browser", "carrier", "city_name", "clv_total", "country",
    "custom_1", "custom_2", "custom_3", "custom_4", "device_new", "first-accessed-page",
    "install_uuid", "language", "library_ver", "marketing_campaign", "marketing_medium",
    "marketing_source", "model", "name", "nth", "os_ver", "platform", "region", "session_uuid",
    "studentId_clientType", "type", "user_type", "uuid",
)  # fmt: skip


def _key_type(key: str) -> LongType | BooleanType | StringType:
    if key in _LONG_KEYS:
        return LongType()
    return BooleanType() if key in _BOOLEAN_KEYS else StringType()


# Explicit, so a day's files never change the columns by inference; the corrupt-record column
# catches unparseable lines in PERMISSIVE mode instead of failing the read.
EVENT_SCHEMA = StructType(
    [StructField(key, _key_type(key), True) for key in EVENT_KEYS]
    + [StructField(CORRUPT_COLUMN, StringType(), True)]
)

# tidy name -> source keys, first non-null wins (the spaced spelling is the documented one).
# Only the keys some output uses: JSON is tokenised whole, but only these are converted and kept.
TIDY_COLUMNS = {
    "page_name": ("Page Name", "PageName"),
    "page_category": ("Page Category", "PageCategory"),
    "last_accessed_url": ("Last Accessed Url", "LastAccessedUrl"),
    "at": ("at",),
    "browser": ("browser",),
    "country": ("country",),
    "custom_4": ("custom_4",),
}

# Some exports drop the space in the profile name; other values (unknown, yes) stay as they are.
PROFILE_SPELLINGS = {
    "CoreUser": "Core User",
    "CasualUser": "Casual User",
    "ColdUser": "Cold User",
    "NewUser": "New User",
}

FULL_COLUMNS = (
    "student_id", "client", "at", "browser", "country", "custom_4",
    "page_name", "last_accessed_url", "state", "city", "university", "course",
)  # fmt: skip
# The brief's order first; the remaining columns break ties so the bytes never vary.
FULL_ORDER = (
    "student_id", "at", "page_name", "last_accessed_url", "client", "browser", "country",
    "custom_4", "state", "city", "university", "course",
)  # fmt: skip
STUDENT_COLUMNS = ("student_id", "state", "city", "university", "course")


TIME_FORMAT = "yyyy-MM-dd HH:mm:ss"


def view_at(at: Column) -> Column:
    """The second of a view: `2017-11-16 13:20:11.000`, `...:11.0000`, `2017-11-16T13:20:11`
    (session time zone UTC: the wall clock as written), fractions dropped. Null when `at` has
    no `HH:mm:ss` (a date alone) or names no real time. A cast, not a regex: it runs per event.
    """
    text = F.ltrim(at)
    has_clock = (F.substring(text, 14, 1) == ":") & (F.substring(text, 17, 1) == ":")
    return F.when(has_clock, F.date_trunc("second", text.try_cast("timestamp")))


def read_events(spark: SparkSession, paths: list[str]) -> DataFrame:
    """The day's JSON Lines as tidy columns, each event marked malformed, identified or neither.

    Not persisted here: the job persists it, so the files are read once and no output rescans
    them (field notes: a rescan of a day costs ~7 s). Spark also refuses queries that touch only
    the corrupt-record column of a raw file, which the persisted frame avoids.
    """
    raw = (
        spark.read.schema(EVENT_SCHEMA)
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT_COLUMN)
        .option("encoding", "UTF-8")
        .json(paths)
    )
    tidy = [
        F.coalesce(*(F.col(f"`{key}`") for key in keys)).alias(name)
        if len(keys) > 1
        else F.col(f"`{keys[0]}`").alias(name)
        for name, keys in TIDY_COLUMNS.items()
    ]
    corrupt = F.col(CORRUPT_COLUMN)
    key = F.trim(F.col("studentId_clientType"))
    # a malformed line may have some fields filled (Spark's partial results): never identified
    identified = corrupt.isNull() & key.isNotNull() & (key != "")
    parts = F.split(key, "@", 2)
    return raw.select(
        *tidy,
        view_at(F.col("at")).alias("view_at"),
        identified.alias("is_identified"),
        F.when(identified, F.get(parts, 0)).alias("student_id"),
        F.when(identified, F.get(parts, 1)).alias("client"),  # null when there is no '@'
        corrupt.isNotNull().alias("is_malformed"),
        F.when(corrupt.isNotNull(), F.col("_metadata.file_name")).alias("source_file"),
        corrupt.alias("corrupt_record"),
    )


def identified_events(events: DataFrame) -> DataFrame:
    """Events of students: studentId_clientType is "<studentId>@<client>"."""
    return events.where(F.col("is_identified"))


def malformed_sample(events: DataFrame, limit: int) -> list[tuple[str, str]]:
    """Up to `limit` malformed lines as (file name, line), in a stable order."""
    rows = (
        events.where(F.col("is_malformed"))
        .select("source_file", "corrupt_record")
        .orderBy("source_file", "corrupt_record")
        .limit(limit)
        .collect()
    )
    return [(r["source_file"], r["corrupt_record"]) for r in rows]


def normalise_profile(column: Column) -> Column:
    """custom_4 with the unspaced spellings of the four profiles given their space back."""
    mapping = F.create_map(*(F.lit(v) for v in chain.from_iterable(PROFILE_SPELLINGS.items())))
    return F.coalesce(F.try_element_at(mapping, column), column)


def full_events(identified: DataFrame, students: DataFrame) -> DataFrame:
    """Identified events with the student's state, city, university and course (full.csv).

    Inner join: events of students the warehouse does not know are left out (the students are
    broadcast, so the events are not shuffled for it). Distinct rows, in a total order, so
    that the same input always gives the same file.
    """
    event_columns = FULL_COLUMNS[:8]  # student_id ... last_accessed_url; the rest is the student's
    events = identified.select(
        *(normalise_profile(F.col(c)).alias(c) if c == "custom_4" else c for c in event_columns)
    )
    # one warehouse row per student, so distinct events stay distinct rows: dedupe the narrower
    joined = events.distinct().join(F.broadcast(students.select(*STUDENT_COLUMNS)), "student_id")
    return _sorted_single(joined, FULL_COLUMNS, FULL_ORDER)


ACTIVE_COLUMNS = (
    "student_id", "page_views", "first_at", "last_at", "clients", "in_warehouse", "state",
    "university", "course",
)  # fmt: skip


def students_of_day(identified: DataFrame, students: DataFrame) -> DataFrame:
    """One row per student seen today, known to the warehouse or not (active_students.csv).

    first_at/last_at are the earliest and latest readable view times; clients the distinct
    clients used, sorted and joined by "|"; state, university and course from the warehouse.
    Aggregates no string with min/max (Spark would sort every event for it instead of hashing);
    the warehouse's names are joined to the aggregate.
    """
    views = identified.groupBy("student_id").agg(
        F.count(F.lit(1)).alias("page_views"),
        F.date_format(F.min("view_at"), TIME_FORMAT).alias("first_at"),
        F.date_format(F.max("view_at"), TIME_FORMAT).alias("last_at"),
        F.expr("listagg(distinct client, '|') within group (order by client)").alias("clients"),
    )
    known = students.select(*STUDENT_COLUMNS).withColumn("in_warehouse", F.lit(True))
    return (
        views.join(F.broadcast(known), "student_id", "left")
        .withColumn("in_warehouse", F.coalesce(F.col("in_warehouse"), F.lit(False)))
        .select(*ACTIVE_COLUMNS)
    )


def active_students(students_today: DataFrame) -> DataFrame:
    """active_students.csv: the day's students (`students_of_day`) in student id order."""
    return _sorted_single(students_today, ACTIVE_COLUMNS, ("student_id",))


def _sorted_single(frame: DataFrame, columns: tuple[str, ...], order: tuple[str, ...]) -> DataFrame:
    """The frame as one partition sorted by `order` (nulls first): the file is one part anyway,
    and sorting a day's rows in one task is cheaper than sampling them for a range sort."""
    return (
        frame.select(*columns)
        .coalesce(1)
        .sortWithinPartitions(*(F.col(c).asc_nulls_first() for c in order))
    )
