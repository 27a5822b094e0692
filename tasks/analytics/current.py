"""Whether the analytics zone already holds the day's outputs of the very same inputs.

A rerun with nothing new must not pay for Spark again. The outputs are a function of three
things: the day's raw event files, the warehouse's students (the Parquet export) and the job's
code (with the events suite and the settings that change what it rejects). Their digest goes
into the published manifest as `inputs`; a run whose digest matches the manifest of the day's
partition (analytics/day=<day>/), with every file that manifest names present at its recorded
size (full.csv's Parquet parts included) and the day's validated events in place, keeps what
is published. Like dbt's state comparison, it compares content,
not clocks. With PDBI_JDBC_JAR set Spark reads the warehouse live and there is no export to
digest: the job runs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from importlib import metadata
from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from tasks.analytics.manifest import MANIFEST_NAME, partition, validated_name
from tasks.entities import EVENTS
from tasks.lake.backup import recorded_raw
from tasks.quality.validate import reject_threshold
from tasks.resources import postgres
from tasks.resources.lake import Lake, get_lake
from tasks.retry import transient_retries
from tasks.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]
# the job's code and rules: a change of any is a change of outputs
JOB_SOURCES = (
    *sorted(Path(__file__).parent.glob("*.py")),
    ROOT / "tasks" / "quality" / "events.py",
    ROOT / "expectations" / "events.json",
)


@dataclass
class Published:
    """What the analytics zone holds for the day: rows per CSV and the events counted."""

    outputs: dict[str, int] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)
    reused: bool = False


def job_digest() -> str:
    digest = hashlib.sha256(metadata.version("pdbi").encode())
    for path in JOB_SOURCES:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    settings = get_settings()
    rules = {"threshold": reject_threshold(EVENTS.name), "opt_in": settings.events_opt_in_checks}
    digest.update(json.dumps(rules, sort_keys=True).encode())
    return digest.hexdigest()


def inputs_digest(lake: Lake, run_date: date, students_name: str) -> str:
    """The digest of the raw files recorded for the day, the students export and the job."""
    with postgres.connect(application_name="pdbi-analytics-inputs") as conn:
        raw = sorted(recorded_raw(conn, run_date).items())
    parts = {"raw": raw, "students": lake.fingerprint("temp", students_name), "job": job_digest()}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def published_for(lake: Lake, run_date: date, inputs: str) -> Published | None:
    """The day's partition when its manifest says it holds the day's outputs of these inputs,
    and every file it names (Parquet parts included) is there at its size; else None."""
    folder = partition(run_date)
    if not lake.exists("analytics", folder + MANIFEST_NAME):
        return None
    manifest = json.loads(lake.read_bytes("analytics", folder + MANIFEST_NAME))
    if manifest.get("run_date") != run_date.isoformat() or manifest.get("inputs") != inputs:
        return None
    sizes = lake.sizes("analytics", f"{folder}**")
    for kept in (manifest["malformed_sample"], manifest.get("quarantined")):
        if kept is None:
            return None  # a manifest older than the events' validation: run again
        zone, name = kept["file"].split("/", 1)
        if not lake.exists(zone, name) or lake.size(zone, name) != kept["bytes"]:
            return None
    if not lake.list("validated", f"{validated_name(run_date)}/*.parquet"):
        return None
    parquet = manifest.get("parquet")
    if parquet is None or not parquet["files"]:
        return None  # a manifest older than the partition's Parquet: run again
    named = {
        **{name: entry["bytes"] for name, entry in manifest["outputs"].items()},
        **{parquet["folder"] + name: e["bytes"] for name, e in parquet["files"].items()},
    }
    if any(sizes.get(folder + name) != size for name, size in named.items()):
        return None
    rows = {name: int(entry["rows"]) for name, entry in manifest["outputs"].items()}
    return Published(rows, manifest["events"], reused=True)


@task(**transient_retries(), cache_policy=NO_CACHE)
def analytics_inputs(run_date: date, students_name: str | None) -> str | None:
    """The digest of what the day's outputs are made from; None when Spark reads by JDBC."""
    if students_name is None:
        return None
    return inputs_digest(get_lake(), run_date, students_name)


@task(**transient_retries(), cache_policy=NO_CACHE)
def reuse_published(run_date: date, inputs: str | None) -> Published | None:
    """The day's partition if it was made from these inputs: Spark is skipped."""
    published = None if inputs is None else published_for(get_lake(), run_date, inputs)
    if published is not None:
        get_run_logger().info(
            "analytics/%s already holds %s's outputs of the same inputs (manifest.json): "
            "Spark is skipped",
            partition(run_date),
            run_date,
        )
    return published
