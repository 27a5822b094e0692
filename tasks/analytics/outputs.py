"""The case study's three analytics outputs, one pure DataFrame function each.

Every function takes frames and returns a frame, so each is tested on a tiny frame; only
`read_events` touches files, through the SparkSession it is given. All three outputs are
computed over identified events (those carrying `studentId_clientType`), as the original did.
"""

from __future__ import annotations

from itertools import chain

from pyspark import StorageLevel
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

# tidy name -> source keys, first non-null wins (the spaced spelling is the documented one)
_TIDY_COLUMNS = {
    "page_name": ("Page Name", "PageName"),
    "page_category": ("Page Category", "PageCategory"),
    "page_category_1": ("Page Category 1", "PageCategory1"),
    "page_category_2": ("Page Category 2", "PageCategory2"),
    "page_category_3": ("Page Category 3", "PageCategory3"),
    "last_accessed_url": ("Last Accessed Url", "LastAccessedUrl"),
    "at": ("at",),
    "browser": ("browser",),
    "country": ("country",),
    "custom_4": ("custom_4",),
    "student_id_client_type": ("studentId_clientType",),
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


def read_events(spark: SparkSession, paths: list[str]) -> DataFrame:
    """Read the day's JSON Lines once, as tidy columns, and keep them for the three outputs.

    The frame is persisted: the outputs rescan nothing (field notes: a rescan of a day costs
    ~7 s), and Spark refuses queries that touch only the corrupt-record column of a raw file.
    Callers `unpersist()` it when done.
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
        for name, keys in _TIDY_COLUMNS.items()
    ]
    events = raw.select(*tidy, F.col(CORRUPT_COLUMN).isNotNull().alias("is_malformed"))
    return events.persist(StorageLevel.MEMORY_AND_DISK)


def identified_events(events: DataFrame) -> DataFrame:
    """Events of known students: studentId_clientType is "<studentId>@<client>"."""
    key = F.trim(F.col("student_id_client_type"))
    parts = F.split(key, "@", 2)
    return events.where(key.isNotNull() & (key != "")).select(
        "*",
        F.get(parts, 0).alias("student_id"),
        F.get(parts, 1).alias("client"),  # null when there is no '@'
    )


def normalise_profile(column: Column) -> Column:
    """custom_4 with the unspaced spellings of the four profiles given their space back."""
    mapping = F.create_map(*(F.lit(v) for v in chain.from_iterable(PROFILE_SPELLINGS.items())))
    return F.coalesce(F.try_element_at(mapping, column), column)


def country_counts(identified: DataFrame) -> DataFrame:
    """Page views per foreign country (country.csv): the dashboard's bar of countries."""
    country = F.lower(F.trim(F.col("country")))
    return (
        identified.select(country.alias("country"))
        .where(F.col("country").isNotNull() & (F.col("country") != "") & (F.col("country") != "br"))
        .groupBy("country")
        .agg(F.count(F.lit(1)).alias("count"))
        .orderBy(F.col("count").desc(), F.col("country").asc())
    )


def user_profiles(identified: DataFrame) -> DataFrame:
    """Events per user profile (users.csv); events without a profile are left out."""
    return (
        identified.select(normalise_profile(F.col("custom_4")).alias("custom_4"))
        .where(F.col("custom_4").isNotNull())
        .groupBy("custom_4")
        .agg(F.count(F.lit(1)).alias("count"))
        .orderBy(F.col("count").desc(), F.col("custom_4").asc())
    )


def full_events(identified: DataFrame, students: DataFrame) -> DataFrame:
    """Identified events with the student's state, city, university and course (full.csv).

    Inner join: events of students the warehouse does not know are left out. Distinct rows,
    in a total order, so that the same input always gives the same file.
    """
    events = identified.select(
        "student_id",
        "client",
        "at",
        "browser",
        "country",
        normalise_profile(F.col("custom_4")).alias("custom_4"),
        "page_name",
        "last_accessed_url",
    )
    return (
        events.join(students.select(*STUDENT_COLUMNS), on="student_id", how="inner")
        .select(*FULL_COLUMNS)
        .distinct()
        .orderBy(*(F.col(c).asc_nulls_first() for c in FULL_ORDER))
    )
