"""Publishing the job's files to the lake, each file replaced atomically, the manifest last.

Every publish writes the day's partition, analytics/day=<day>/: the validated events (when
Spark wrote them into a working area, not the lake itself), the CSV files, full.csv's rows as
Parquet (full/part-*.parquet), the quarantine files into quarantine/<day>/, and the
partition's manifest.json at the very end, so whoever sees a new manifest finds the files it
describes (their sha256 in it lets a reader check). Files are copied from the job's folder, a
URL, into the lake: nothing Spark wrote is renamed in place. The job's folder is removed once
everything is published. Then `zone.settle_day`: the zone's root takes the partition's files
when the day is the latest published, and the daily series takes the day's row.
"""

from __future__ import annotations

from datetime import date
from pathlib import PurePosixPath
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.analytics.current import Published
from tasks.analytics.manifest import (
    FULL_PARQUET,
    MANIFEST_NAME,
    REJECTED_NAME,
    SAMPLE_NAME,
    parquet_names,
    partition,
    quarantine_name,
    validated_name,
)
from tasks.analytics.zone import settle_day
from tasks.resources.lake import Lake, get_lake
from tasks.resources.spark_work import WorkFiles
from tasks.retry import transient_retries
from tasks.settings import get_settings


def copy_in(files: WorkFiles, url: str, lake: Lake, zone: str, name: str) -> None:
    """One file of the job's folder into the lake, replacing the previous version atomically."""
    with files.open(url) as source, lake.write_atomic(zone, name) as target:
        while chunk := source.read(1 << 20):
            target.write(chunk)


def publish_validated(files: WorkFiles, folder: str, lake: Lake, run_date: date) -> int:
    """The day's Parquet files into validated/events/day=<day>/, then the earlier run's files
    that are not among them removed; returns the files published."""
    partition = validated_name(run_date)
    found = files.listing(folder, "*.parquet")
    for name in sorted(found):
        copy_in(files, f"{folder}/{name}", lake, "validated", f"{partition}/{name}")
    for name in lake.list("validated", f"{partition}/*"):
        if PurePosixPath(name).name not in found:
            lake.remove("validated", name)
    return len(found)


def publish_parquet(files: WorkFiles, folder: str, lake: Lake, base: str) -> int:
    """full.csv's rows as Parquet: Spark's part files into analytics/<base>/ as
    part-00000.parquet, ... in order, then the earlier run's parts not among them removed;
    returns the files published."""
    found = files.listing(folder, "part-*.parquet")
    names = dict(zip(sorted(found), parquet_names(found), strict=True))
    for spark_name, name in names.items():
        copy_in(files, f"{folder}/{spark_name}", lake, "analytics", f"{base}/{name}")
    for name in lake.list("analytics", f"{base}/*"):
        if PurePosixPath(name).name not in names.values():
            lake.remove("analytics", name)
    return len(names)


def publish_files(outputs: dict[str, Any], run_date: date, prefix: str = "") -> dict[str, int]:
    """Copy each output to analytics/<prefix><name>.csv (and, into a day's partition, full's
    Parquet parts to <prefix>full/), the quarantine files to quarantine/<day>/, then the
    manifest; returns rows per published CSV."""
    lake, files = get_lake(), WorkFiles(get_settings().lake_options)
    places = outputs.get("_places", {})
    if places.get("staged"):
        publish_validated(files, outputs["_validated"]["path"], lake, run_date)
    published: dict[str, int] = {}
    for name, info in outputs.items():
        if name.startswith("_"):
            continue  # job statistics, the quarantine files and the manifest: not analytics CSVs
        target = PurePosixPath(info["path"]).name
        copy_in(files, info["path"], lake, "analytics", f"{prefix}{target}")
        published[target] = int(info["rows"])
    if prefix and "_parquet" in outputs:
        publish_parquet(files, outputs["_parquet"]["path"], lake, f"{prefix}{FULL_PARQUET}")
    quarantined = {SAMPLE_NAME: outputs["_sample"], REJECTED_NAME: outputs["_rejected"]}
    for name, info in quarantined.items():
        copy_in(files, info["path"], lake, "quarantine", quarantine_name(run_date, name))
    manifest = outputs["_manifest"]["path"]
    copy_in(files, manifest, lake, "analytics", f"{prefix}{MANIFEST_NAME}")
    if places.get("out"):
        files.remove(places["out"].rsplit("/", 1)[0] if places.get("staged") else places["out"])
    return published


def publish_day(outputs: dict[str, Any], run_date: date) -> dict[str, int]:
    """The day's partition (manifest last), then the zone's root and the daily series."""
    published = publish_files(outputs, run_date, partition(run_date))
    settle_day(get_lake(), run_date)
    return published


@task(
    **transient_retries(),
    cache_policy=NO_CACHE,
)
def publish_outputs(outputs: dict[str, Any], run_date: date) -> Published:
    """The day's partition, then the root when the day is the latest, then its series row."""
    return Published(publish_day(outputs, run_date), outputs["_events"])


@task(
    **transient_retries(),
    cache_policy=NO_CACHE,
)
def settle_published(run_date: date) -> bool:
    """A day whose partition was kept (the same inputs): the root and the series as they must
    be, in case the run that published the partition stopped before them. Returns whether
    the root holds the day."""
    return settle_day(get_lake(), run_date)
