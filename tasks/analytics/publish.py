"""Publishing analytics outputs to the lake, each file replaced atomically, the manifest last.

Order matters to readers: the CSV files first, then the sample of malformed lines into
quarantine/<day>/, and analytics/manifest.json at the very end, so whoever sees a new manifest
finds the files it describes (their sha256 in it lets a reader check).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.analytics.current import Published
from tasks.analytics.manifest import MANIFEST_NAME, quarantine_name
from tasks.resources.lake import get_lake
from tasks.retry import transient_retries


def publish_files(outputs: dict[str, dict], run_date: date) -> dict[str, int]:
    """Copy each local output to analytics/<name>.csv, the sample to quarantine/, then the
    manifest; returns rows per published CSV."""
    lake = get_lake()
    published: dict[str, int] = {}
    for name, info in outputs.items():
        if name.startswith("_"):
            continue  # job statistics, the sample and the manifest: not analytics CSVs
        target = Path(info["path"]).name
        lake.publish_file(Path(info["path"]), "analytics", target)
        published[target] = int(info["rows"])
    lake.publish_file(Path(outputs["_sample"]["path"]), "quarantine", quarantine_name(run_date))
    lake.publish_file(Path(outputs["_manifest"]["path"]), "analytics", MANIFEST_NAME)
    return published


@task(
    **transient_retries(),
    cache_policy=NO_CACHE,
)
def publish_outputs(outputs: dict[str, dict], run_date: date) -> Published:
    return Published(publish_files(outputs, run_date), outputs["_events"])
