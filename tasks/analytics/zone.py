"""The analytics zone across days: which days are published, which one the root holds.

Every publish writes the day's partition, `analytics/day=<day>/` (tasks/analytics/publish.py).
The zone's root keeps the latest published day's files under their original names
(country.csv, ..., manifest.json), for the original's readers: once a day's partition is
complete, `settle_day` copies it to the root (its manifest last) when no later day is
published, and replaces the day's row of the daily series (tasks/analytics/series.py). A day
older than the latest rewrites only its partition and its series row. A day is published when
its partition holds a manifest.json. Both steps hold the publish lock, so two runs of
different days never interleave their updates of the root or of the series.
"""

from __future__ import annotations

import json
from datetime import date

from tasks.analytics.manifest import MANIFEST_NAME, partition
from tasks.analytics.series import day_row, new_versions, update_series
from tasks.resources import postgres
from tasks.resources.lake import Lake
from tasks.run_lock import publish_lock


def published_days(lake: Lake) -> list[date]:
    """The days whose partition holds a manifest, in date order."""
    found = []
    for name in lake.list("analytics", f"day=*/{MANIFEST_NAME}"):
        try:
            found.append(date.fromisoformat(name.split("/", 1)[0].removeprefix("day=")))
        except ValueError:
            continue  # a folder someone else put there
    return sorted(found)


def root_day(lake: Lake) -> date | None:
    """The day the root's manifest.json names (None: no root manifest yet)."""
    if not lake.exists("analytics", MANIFEST_NAME):
        return None
    return date.fromisoformat(json.loads(lake.read_bytes("analytics", MANIFEST_NAME))["run_date"])


def promote(lake: Lake, day: date) -> bool:
    """The root takes the day's partition when no later day is published (nor held by a root
    older than partitions); returns whether the root holds the day."""
    days, at_root = published_days(lake), root_day(lake)
    if day not in days or any(d > day for d in [*days, at_root] if d is not None):
        return at_root == day
    folder = partition(day)
    manifest = lake.read_bytes("analytics", folder + MANIFEST_NAME)
    outputs = json.loads(manifest)["outputs"]
    sizes = lake.sizes("analytics", "*.csv")
    if (
        at_root == day
        and lake.read_bytes("analytics", MANIFEST_NAME) == manifest
        and all(sizes.get(n) == e["bytes"] for n, e in outputs.items())
    ):
        return True  # already there
    for name in sorted(outputs):
        lake.copy("analytics", folder + name, "analytics", name)
    with lake.write_atomic("analytics", MANIFEST_NAME) as out:
        out.write(manifest)
    return True


def settle_day(lake: Lake, day: date) -> bool:
    """After the day's partition is complete: the root (when the day is the latest) and the
    day's row of the series; returns whether the root holds the day."""
    with publish_lock():
        at_root = promote(lake, day)
        with postgres.connect(application_name="pdbi-analytics-series") as conn:
            versions = new_versions(conn, day)
        update_series(lake, day_row(lake, day, versions))
    return at_root
