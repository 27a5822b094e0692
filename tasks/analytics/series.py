"""The daily series across days: analytics/series/daily.csv, one row per day, sorted by day.

Built incrementally: each publish computes its own day's row from what it just published (the
partition's manifest, its country.csv and users.csv, a few rows each) and the warehouse's
versions opened by the day's load, then replaces that day's row in the file, which holds one
short row per day. No partition of another day is read. The file is replaced atomically.

Columns: `day`, then
- `page_views`: the day's valid events (identified and anonymous);
- `identified_views`: those of identified students;
- `active_students`: distinct identified students seen (rows of active_students.csv);
- `foreign_share`: identified views from a country other than Brazil, over identified views
  with a country (country.csv's counts over identified minus null_country);
- `views_per_profile`: identified views with a profile, per profile (users.csv's counts over
  its rows);
- `new_versions_<source>`: versions of the source's type-2 dimension the day's load opened (new
  keys, changes, returning keys), for students, universities, courses and subjects;
- `match_ratio`: the share of identified views whose student the warehouse holds (as of the
  day), what the match guard compares with earlier days (tasks/analytics/matches.py).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import Any

import psycopg

from tasks.analytics.manifest import MANIFEST_NAME, SERIES_NAME, partition
from tasks.resources import postgres
from tasks.resources.lake import Lake

SOURCES = ("students", "universities", "courses", "subjects")
COLUMNS = (
    "day", "page_views", "identified_views", "active_students", "foreign_share",
    "views_per_profile", *(f"new_versions_{s}" for s in SOURCES), "match_ratio",
)  # fmt: skip


def new_versions(conn: psycopg.Connection, day: date) -> dict[str, int]:
    """Versions per type-2 source that the day's load opened."""
    rows = postgres.fetch_all(conn, postgres.read_sql("meta/new_versions.sql"), {"day": day})
    return {source: int(count) for source, count in rows}


def _counts(lake: Lake, name: str) -> list[int]:
    """The second column of a published two-column CSV (country.csv, users.csv)."""
    if not lake.exists("analytics", name):
        return []
    text = lake.read_bytes("analytics", name).decode("utf-8")
    return [int(row[1]) for row in list(csv.reader(io.StringIO(text, newline="")))[1:]]


def _share(part: float, whole: float) -> str:
    return f"{part / whole:.6f}" if whole else f"{0:.6f}"


def day_row(lake: Lake, day: date, versions: dict[str, int]) -> dict[str, Any]:
    """The day's row, from its partition and the versions its load opened."""
    folder = partition(day)
    manifest = json.loads(lake.read_bytes("analytics", folder + MANIFEST_NAME))
    events, files = manifest["events"], manifest["outputs"]
    identified = int(events.get("identified", 0))
    with_country = identified - int(events.get("null_country", 0))
    profiles = _counts(lake, folder + "users.csv")
    matches = manifest.get("matches", {})
    return {
        "day": day.isoformat(),
        "page_views": int(events.get("valid", 0)),
        "identified_views": identified,
        "active_students": int(files.get("active_students.csv", {}).get("rows", 0)),
        "foreign_share": _share(sum(_counts(lake, folder + "country.csv")), with_country),
        "views_per_profile": _share(sum(profiles), len(profiles)),
        **{f"new_versions_{s}": int(versions.get(s, 0)) for s in SOURCES},
        "match_ratio": _share(matches["matched_views"], matches["identified_views"])
        if matches
        else "",
    }


def read_series(lake: Lake) -> list[dict[str, str]]:
    if not lake.exists("analytics", SERIES_NAME):
        return []
    text = lake.read_bytes("analytics", SERIES_NAME).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def update_series(lake: Lake, row: dict[str, Any]) -> list[dict[str, str]]:
    """The file with the day's row replaced (or added), sorted by day, written atomically;
    returns its rows. Columns the file holds beyond COLUMNS are kept, empty in the new row."""
    rows = [r for r in read_series(lake) if r.get("day") != row["day"]]
    rows.append({k: str(v) for k, v in row.items()})
    rows.sort(key=lambda r: r["day"])
    columns = list(COLUMNS) + sorted({k for r in rows for k in r} - set(COLUMNS))
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, columns, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    with lake.write_atomic("analytics", SERIES_NAME) as out:
        out.write(text.getvalue().encode("utf-8"))
    return rows
