"""The manifest beside the outputs: what a run wrote, so a reader can trust what it reads.

It names the run date, the digest of the inputs the outputs were made from, every output's rows,
size and sha256, the event counts (read = valid + rejected + malformed; identified, anonymous
and without a country among the valid), the quarantined lines (every rejected and malformed
line, and the sample of malformed lines), the validated events' rows and full.csv's Parquet
part files. It is published last:
a reader who sees a new manifest sees the files it describes. It holds no clock time, so
rerunning a day over the same input writes the same bytes.
"""

from __future__ import annotations

from datetime import date
from pathlib import PurePosixPath
from typing import Any

MANIFEST_NAME = "manifest.json"
SAMPLE_NAME = "malformed-events.jsonl"  # up to 100 malformed lines, as before
REJECTED_NAME = "events.jsonl"  # every rejected and malformed line, with its reasons
VALIDATION_NAME = "validation.json"  # the events suite's report, in the job's folder only
VALIDATED_DIR = "validated/events"  # the lake's Parquet of valid events, one day= folder a day
FULL_PARQUET = "full"  # full.csv's rows as Parquet part files, in the day's partition
SERIES_NAME = "series/daily.csv"  # the daily series, relative to the analytics zone


def partition(run_date: date) -> str:
    """The day's folder in the analytics zone, with its trailing slash: "day=2017-11-16/"."""
    return f"day={run_date.isoformat()}/"


def parquet_names(found: dict[str, int]) -> dict[str, int]:
    """The part files Spark wrote (name -> bytes), named as published: part-00000.parquet, ...
    in Spark's order, so that a rerun replaces the same names."""
    return {f"part-{i:05d}.parquet": found[name] for i, name in enumerate(sorted(found))}


def quarantine_name(run_date: date, name: str = SAMPLE_NAME) -> str:
    """Where a quarantine file of the day lives in the lake's quarantine zone."""
    return f"{run_date.isoformat()}/{name}"


def validated_name(run_date: date) -> str:
    """The day's partition of the validated events, relative to the lake's validated zone."""
    return f"events/day={run_date.isoformat()}"


def _entry(found: dict[str, Any]) -> dict[str, Any]:
    return {"rows": found["rows"], "bytes": found["bytes"], "sha256": found["sha256"]}


def build_manifest(
    run_date: date,
    outputs: dict[str, Any],
    events: dict[str, int],
    sample: dict[str, Any],
    inputs: str | None = None,
    rejected: dict[str, Any] | None = None,
    validated_rows: int | None = None,
    parquet: dict[str, int] | None = None,
    matches: dict[str, int] | None = None,
) -> dict:
    """`outputs` are the job's Written files by output name, `sample` and `rejected` their
    entries; files named as published. `inputs` is the digest of what they were made from
    (tasks/analytics/current.py); `parquet` the part files of full.csv's rows as Parquet
    (name -> bytes, as Spark wrote them); `matches` how the day's identified views and
    students match the warehouse's students (tasks/analytics/matches.py)."""
    files = {
        PurePosixPath(w.url).name: {"rows": w.rows, "bytes": w.bytes, "sha256": w.sha256}
        for w in outputs.values()
    }
    manifest: dict[str, Any] = {
        "run_date": run_date.isoformat(),
        "inputs": inputs,
        "outputs": dict(sorted(files.items())),
        "events": dict(sorted(events.items())),
        "malformed_sample": {
            "file": f"quarantine/{quarantine_name(run_date)}",
            **_entry(sample),
        },
    }
    if rejected is not None:
        manifest["quarantined"] = {
            "file": f"quarantine/{quarantine_name(run_date, REJECTED_NAME)}",
            **_entry(rejected),
        }
    if validated_rows is not None:
        manifest["validated"] = {
            "folder": f"{VALIDATED_DIR}/day={run_date.isoformat()}/",
            "rows": validated_rows,
        }
    if matches is not None:
        manifest["matches"] = dict(sorted(matches.items()))
    if parquet is not None:
        manifest["parquet"] = {
            "folder": f"{FULL_PARQUET}/",
            "rows": files["full.csv"]["rows"] if "full.csv" in files else None,
            "files": {n: {"bytes": b} for n, b in parquet_names(parquet).items()},
        }
    return manifest
