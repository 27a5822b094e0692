"""The manifest beside the outputs: what a run wrote, so a reader can trust what it reads.

It names the run date, the digest of the inputs the outputs were made from, every output's rows,
size and sha256, the event counts (read, malformed, anonymous, identified, without a country)
and the quarantined sample of malformed lines. It is published last: a reader who sees a new
manifest sees the files it describes. It holds no clock time, so rerunning a day over the same
input writes the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import date
from pathlib import Path

MANIFEST_NAME = "manifest.json"
SAMPLE_NAME = "malformed-events.jsonl"
_CHUNK = 1 << 20


def quarantine_name(run_date: date) -> str:
    """Where the malformed-line sample lives in the lake's quarantine zone."""
    return f"{run_date.isoformat()}/{SAMPLE_NAME}"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def file_entry(path: Path, rows: int) -> dict[str, int | str]:
    return {"rows": rows, "bytes": path.stat().st_size, "sha256": sha256_file(path)}


def build_manifest(
    run_date: date,
    outputs: dict[str, dict],
    events: dict[str, int],
    sample: dict,
    inputs: str | None = None,
) -> dict:
    """`outputs` and `sample` are the job's {"path", "rows"} entries; files named as published.
    `inputs` is the digest of what they were made from (tasks/analytics/current.py)."""
    files = {Path(o["path"]).name: file_entry(Path(o["path"]), o["rows"]) for o in outputs.values()}
    return {
        "run_date": run_date.isoformat(),
        "inputs": inputs,
        "outputs": dict(sorted(files.items())),
        "events": dict(sorted(events.items())),
        "malformed_sample": {
            "file": f"quarantine/{quarantine_name(run_date)}",
            **file_entry(Path(sample["path"]), sample["rows"]),
        },
    }


def write_manifest(manifest: dict, target: Path) -> None:
    """Write the manifest under a temporary name, then rename it into place."""
    temp = target.with_name(f".{target.name}.tmp")
    temp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temp, target)
