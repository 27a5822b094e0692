"""The outputs added to the original three: where, when and how students used the platform.

Like the originals they count identified events (page views of students with
`studentId_clientType`), duplicates included. A missing key (no client, no category, no readable
time) is a row with an empty key, so the page views of an output add up to the day's identified
events; the per-state, per-university and per-course outputs count only events of students the
warehouse knows. `students` is always the number of distinct student ids.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from tasks.analytics.outputs import STUDENT_COLUMNS

# `2017-11-16 13:20:11.000`, `2017-11-16T13:20:11`, any fraction: the view's second of the day.
# A date alone (or anything else) has no time of day.
_TIME = r"^\s*(\d{4}-\d{2}-\d{2})[ T]([01]\d|2[0-3])(:[0-5]\d:[0-5]\d)"


def view_time(at: Column) -> Column:
    """`yyyy-MM-dd HH:mm:ss` of a view, fractions dropped; null when `at` holds no time of day.
    As text in one fixed format, its order is the chronological order."""
    parts = (F.regexp_extract(at, _TIME, i) for i in (1, 2, 3))
    return F.when(at.rlike(_TIME), F.concat(next(parts), F.lit(" "), *parts))


def view_hour(at: Column) -> Column:
    """The hour of the day (0 to 23) of a view, null when `at` holds no time of day."""
    return F.when(at.rlike(_TIME), F.regexp_extract(at, _TIME, 2).cast("int"))


def with_students(events: DataFrame, students: DataFrame) -> DataFrame:
    """The events with their student's state, city, university and course from the warehouse
    (null, and in_warehouse false, for anonymous events and students it does not know).

    The students are broadcast: a day's students fit in memory, and the events are then joined
    in the same pass that reads them, with no shuffle of the events.
    """
    known = students.select(*STUDENT_COLUMNS).withColumn("in_warehouse", F.lit(True))
    joined = events.join(F.broadcast(known), on="student_id", how="left")
    return joined.withColumn("in_warehouse", F.coalesce(F.col("in_warehouse"), F.lit(False)))


def _views_per(frame: DataFrame, key: Column, name: str, by_key: bool = False) -> DataFrame:
    """page_views and distinct students per key, most viewed first (ties by key), or in key
    order; an empty key last."""
    order = [F.col("page_views").desc()] if not by_key else []
    return (
        frame.groupBy(key.alias(name))
        .agg(
            F.count(F.lit(1)).alias("page_views"),
            F.count_distinct(F.col("student_id")).alias("students"),
        )
        .orderBy(*order, F.col(name).asc_nulls_last())
    )


def views_per_hour(identified: DataFrame) -> DataFrame:
    """hours.csv: page views and students per hour of the day, in hour order."""
    hour = view_hour(F.col("at"))
    return _views_per(identified, hour, "hour", by_key=True)


def views_per_client(identified: DataFrame) -> DataFrame:
    """clients.csv: page views and students per client (Website, Webapp, Android, iOS)."""
    return _views_per(identified, F.col("client"), "client")


def views_per_category(identified: DataFrame) -> DataFrame:
    """categories.csv: page views and students per page category (both key spellings)."""
    return _views_per(identified, F.col("page_category"), "page_category")


def views_per_university(identified: DataFrame) -> DataFrame:
    """universities.csv: page views and students per university of the warehouse."""
    return _views_per(identified.where("in_warehouse"), F.col("university"), "university")


def views_per_course(identified: DataFrame) -> DataFrame:
    """courses.csv: page views and students per course of the warehouse."""
    return _views_per(identified.where("in_warehouse"), F.col("course"), "course")


def students_per_state(identified: DataFrame) -> DataFrame:
    """states.csv: distinct students per state, the data behind the dashboard's pie."""
    return (
        identified.where("in_warehouse")
        .groupBy("state")
        .agg(F.count_distinct(F.col("student_id")).alias("students"))
        .orderBy(F.col("students").desc(), F.col("state").asc_nulls_last())
    )


ACTIVE_COLUMNS = (
    "student_id", "page_views", "first_at", "last_at", "clients", "in_warehouse", "state",
    "university", "course",
)  # fmt: skip


def active_students(identified: DataFrame) -> DataFrame:
    """active_students.csv: one row per student seen today, known to the warehouse or not.

    first_at/last_at are the earliest and latest readable view times; clients the distinct
    clients used, sorted and joined by "|".
    """
    time = view_time(F.col("at"))
    return (
        identified.groupBy("student_id")
        .agg(
            F.count(F.lit(1)).alias("page_views"),
            F.min(time).alias("first_at"),
            F.max(time).alias("last_at"),
            F.array_join(F.array_sort(F.collect_set("client")), "|").alias("clients"),
            F.max("in_warehouse").alias("in_warehouse"),
            # one warehouse row per student: max() just picks its value
            *(F.max(c).alias(c) for c in ("state", "university", "course")),
        )
        .select(*ACTIVE_COLUMNS)
        .orderBy("student_id")
    )
