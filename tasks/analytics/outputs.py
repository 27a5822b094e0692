"""The outputs Spark writes itself, full.csv and active_students.csv, and their helpers.

Every function takes frames and returns a frame (or a column), so each is tested on a tiny frame.
They read the day as tasks/analytics/day.py marks it: only valid events of identified students
(`is_identified`) count. The outputs with one row per key are computed in one pass each over
the day and over its students, in `keyed.py`. The big outputs come out globally sorted across
several partitions (a range partitioning, no single task), written as ordered part files that
the job concatenates (tasks/resources/spark_files.py).
"""

from __future__ import annotations

from itertools import chain

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from tasks.analytics.day import TIME_FORMAT

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


def identified_events(day: DataFrame) -> DataFrame:
    """Valid events of students: studentId_clientType is "<studentId>@<client>"."""
    return day.where(F.col("is_identified"))


def normalise_profile(column: Column) -> Column:
    """custom_4 with the unspaced spellings of the four profiles given their space back."""
    mapping = F.create_map(*(F.lit(v) for v in chain.from_iterable(PROFILE_SPELLINGS.items())))
    return F.coalesce(F.try_element_at(mapping, column), column)


def full_events(identified: DataFrame, students: DataFrame) -> DataFrame:
    """Identified events with the student's state, city, university and course (full.csv).

    Inner join: events of students the warehouse does not know are left out (the students are
    broadcast, so the events are not shuffled for it). Distinct rows, in a total order, so
    that the same input always gives the same file. The rows are range-partitioned on every
    column, so equal rows meet in one partition: they are made distinct there and sorted
    there, with one shuffle (a distinct, then a sort, took two, and the sort's sampling pass
    ran the distinct again).
    """
    event_columns = FULL_COLUMNS[:8]  # student_id ... last_accessed_url; the rest is the student's
    events = identified.select(
        *(normalise_profile(F.col(c)).alias(c) if c == "custom_4" else c for c in event_columns)
    )
    joined = events.join(F.broadcast(students.select(*STUDENT_COLUMNS)), "student_id")
    order = _order(FULL_ORDER)
    ranged = joined.select(*FULL_COLUMNS).repartitionByRange(*order)
    return ranged.dropDuplicates().sortWithinPartitions(*order)


ACTIVE_COLUMNS = (
    "student_id", "page_views", "first_at", "last_at", "clients", "in_warehouse", "state",
    "university", "course",
)  # fmt: skip


def students_of_day(identified: DataFrame, students: DataFrame) -> DataFrame:
    """One row per student seen today, known to the warehouse or not (active_students.csv).

    first_at/last_at are the earliest and latest readable view times; clients the distinct
    clients used, sorted and joined by "|"; state, university and course from the warehouse.
    Aggregates no string with min/max or `listagg` (Spark would sort or shuffle every event
    for it instead of hashing: `listagg(distinct ...)` took 3.5 to 6.9 s of one million events,
    `collect_set` 1.9 to 2.8 s); the warehouse's names are joined to the aggregate.
    """
    clients = F.array_sort(F.collect_set("client"))  # one aggregate, named twice
    views = identified.groupBy("student_id").agg(
        F.count(F.lit(1)).alias("page_views"),
        F.date_format(F.min("view_at"), TIME_FORMAT).alias("first_at"),
        F.date_format(F.max("view_at"), TIME_FORMAT).alias("last_at"),
        F.when(F.size(clients) > 0, F.array_join(clients, "|")).alias("clients"),
    )
    known = students.select(*STUDENT_COLUMNS).withColumn("in_warehouse", F.lit(True))
    return (
        views.join(F.broadcast(known), "student_id", "left")
        .withColumn("in_warehouse", F.coalesce(F.col("in_warehouse"), F.lit(False)))
        .select(*ACTIVE_COLUMNS)
    )


def active_students(students_today: DataFrame) -> DataFrame:
    """active_students.csv: the day's students (`students_of_day`) in student id order."""
    return _sorted(students_today, ACTIVE_COLUMNS, ("student_id",))


def _sorted(frame: DataFrame, columns: tuple[str, ...], order: tuple[str, ...]) -> DataFrame:
    """The frame sorted by `order` (nulls first) across partitions: Spark range-partitions the
    rows and sorts each range in its own task, so part file i holds the i-th range and the
    parts, concatenated in their order, are the whole file in order."""
    return frame.select(*columns).orderBy(*_order(order))


def _order(columns: tuple[str, ...]) -> list[Column]:
    return [F.col(c).asc_nulls_first() for c in columns]
