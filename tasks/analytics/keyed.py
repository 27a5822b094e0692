"""The outputs with one row per key, and the day's event counts, each source read in one pass.

Small tables of a key and its page views and/or students: country.csv and users.csv (the case
study's), hours, clients, categories, universities, courses and states (added). Computed one by
one they would cost a Spark job each (a scan, a shuffle, a sort, a file commit); here each row
of a source yields one (output, key) pair per output it counts in, and one aggregation counts
them all. The results (a few thousand rows) are sorted and written as CSV on the driver.

Two sources, so that no output needs a count of distinct students over the events:
- the valid events of identified students (duplicates included): country, users, hours,
  clients and categories count page views;
- the students of the day (active_students, one row each, only those the warehouse knows):
  universities and courses sum their page views and count them; states counts them (the data
  behind the dashboard's pie).

The rules, as the original for country and users: country is lower-cased and trimmed, Brazil
("br") and empty values left out (empty ones are the manifest's null_country); users is custom_4
respelled, nulls left out. Elsewhere a missing value is a row with an empty key, so page views
add up to the events counted; hours come in hour order (0 to 23, the empty key last), the
others most first, ties by key.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from tasks.analytics.outputs import normalise_profile

Row = tuple[str | int | None, ...]


@dataclass(frozen=True)
class Keyed:
    """One small output: its CSV header, which source rows count, their key, the row order."""

    header: tuple[str, ...]  # the key's name, then "count" / "page_views" / "students"
    key: Callable[[], Column]
    counts: Callable[[], Column]  # which rows of the source count in this output
    by_key: bool = False  # rows in key order (hours) instead of most first

    def rows(self, found: Iterable[tuple[str | None, int, int]]) -> list[Row]:
        """CSV rows (without header) from (key, page views, students) triples."""
        columns = [{"count": 1, "page_views": 1, "students": 2}[c] for c in self.header[1:]]
        if self.by_key:  # hours: numeric keys
            numbered = ((int(k) if k is not None else None, v, s) for k, v, s in found)
            ordered = sorted(numbered, key=lambda t: (t[0] is None, t[0] or 0))
        else:
            ordered = sorted(found, key=lambda t: (-t[columns[0]], t[0] is None, t[0] or ""))
        return [(t[0], *(t[i] for i in columns)) for t in ordered]


def _country() -> Column:
    return F.lower(F.trim(F.col("country")))


def _identified() -> Column:
    """A valid event of a student (tasks/analytics/day.py): the only events outputs count."""
    return F.col("is_identified")


def _known() -> Column:
    return F.col("in_warehouse")


# Counted over the day's events.
EVENT_KEYED: dict[str, Keyed] = {
    "country": Keyed(
        ("country", "count"),
        _country,
        lambda: _identified() & (F.coalesce(_country(), F.lit("")) != "") & (_country() != "br"),
    ),
    "users": Keyed(
        ("custom_4", "count"),
        lambda: normalise_profile(F.col("custom_4")),
        lambda: _identified() & F.col("custom_4").isNotNull(),
    ),
    "hours": Keyed(
        ("hour", "page_views"),
        lambda: F.hour(F.col("view_at")),
        _identified,
        by_key=True,
    ),
    "clients": Keyed(("client", "page_views"), lambda: F.col("client"), _identified),
    "categories": Keyed(
        ("page_category", "page_views"), lambda: F.col("page_category"), _identified
    ),
}
# Counted over the day's students (outputs.active_students), those the warehouse knows.
STUDENT_KEYED: dict[str, Keyed] = {
    "states": Keyed(("state", "students"), lambda: F.col("state"), _known),
    "universities": Keyed(
        ("university", "page_views", "students"), lambda: F.col("university"), _known
    ),
    "courses": Keyed(("course", "page_views", "students"), lambda: F.col("course"), _known),
}
KEYED = {**EVENT_KEYED, **STUDENT_KEYED}


def _pairs(frame: DataFrame, specs: dict[str, tuple[Column, Column]], views: Column) -> DataFrame:
    """(output, key, page_views, students) from one pass: stack() turns each row into one
    (output, key, counts) row per output, and one aggregation sums them."""
    stacked = [c for name, (key, test) in specs.items() for c in (F.lit(name), key, test)]
    return (
        frame.select(
            F.stack(F.lit(len(specs)), *stacked).alias("output", "key", "counts"),
            views.alias("views"),
        )
        .where("counts")
        .groupBy("output", "key")
        .agg(F.sum("views").alias("page_views"), F.count(F.lit(1)).alias("students"))
    )


def event_counts(day: DataFrame, names: Iterable[str] = tuple(EVENT_KEYED)) -> DataFrame:
    """The event outputs named, over the day's identified valid events (students is
    meaningless)."""
    specs = {n: (EVENT_KEYED[n].key().cast("string"), EVENT_KEYED[n].counts()) for n in names}
    return _pairs(day.where(_identified()), specs, F.lit(1))


def student_counts(active: DataFrame, names: Iterable[str] = tuple(STUDENT_KEYED)) -> DataFrame:
    """The student outputs named, over the day's students (one row each, page_views summed)."""
    specs = {n: (STUDENT_KEYED[n].key(), STUDENT_KEYED[n].counts()) for n in names}
    return _pairs(active, specs, F.col("page_views"))


def split(found: Iterable, names: Iterable[str]) -> dict[str, list[Row]]:
    """Collected event_counts / student_counts rows as the named outputs' sorted rows (an
    output may have none)."""
    per: dict[str, list[tuple[str | None, int, int]]] = defaultdict(list)
    for row in found:
        per[row["output"]].append((row["key"], int(row["page_views"]), int(row["students"])))
    return {name: KEYED[name].rows(per.get(name, [])) for name in names}
