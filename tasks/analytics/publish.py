"""Publishing the job's files to the lake, each file replaced atomically, the manifest last.

Order matters to readers: the validated events (when Spark wrote them into a working area, not
the lake itself), the CSV files, the quarantine files into quarantine/<day>/, and
analytics/manifest.json at the very end, so whoever sees a new manifest finds the files it
describes (their sha256 in it lets a reader check). Files are copied from the job's folder, a
URL, into the lake: nothing Spark wrote is renamed. The destination of the outputs is one
parameter (`prefix`, "" for the analytics zone's root), so a per-day folder is one argument.
The job's folder is removed once everything is published.
"""

from __future__ import annotations

from datetime import date
from pathlib import PurePosixPath
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.analytics.current import Published
from tasks.analytics.manifest import (
    MANIFEST_NAME,
    REJECTED_NAME,
    SAMPLE_NAME,
    quarantine_name,
    validated_name,
)
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


def publish_files(outputs: dict[str, Any], run_date: date, prefix: str = "") -> dict[str, int]:
    """Copy each output to analytics/<prefix><name>.csv, the quarantine files to
    quarantine/<day>/, then the manifest; returns rows per published CSV."""
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
    quarantined = {SAMPLE_NAME: outputs["_sample"], REJECTED_NAME: outputs["_rejected"]}
    for name, info in quarantined.items():
        copy_in(files, info["path"], lake, "quarantine", quarantine_name(run_date, name))
    manifest = outputs["_manifest"]["path"]
    copy_in(files, manifest, lake, "analytics", f"{prefix}{MANIFEST_NAME}")
    if places.get("out"):
        files.remove(places["out"].rsplit("/", 1)[0] if places.get("staged") else places["out"])
    return published


@task(
    **transient_retries(),
    cache_policy=NO_CACHE,
)
def publish_outputs(outputs: dict[str, Any], run_date: date) -> Published:
    return Published(publish_files(outputs, run_date), outputs["_events"])
