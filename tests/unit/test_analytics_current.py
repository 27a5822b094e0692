"""The published outputs are kept only when the manifest vouches for this day, these inputs and
every file it names; anything else means the job runs."""

from __future__ import annotations

import json
from datetime import date

import pytest

from tasks.analytics.current import Published, job_digest, published_for
from tasks.resources.lake import get_lake

DAY = date(2017, 11, 16)
FILES = {"country.csv": b"country,count\nBR,3\n", "full.csv": b"a,b\n1,2\n3,4\n"}
SAMPLE = "2017-11-16/malformed-events.jsonl"


@pytest.fixture
def lake():
    lake = get_lake()
    lake.ensure_zones()
    for name, data in FILES.items():
        with lake.write_atomic("analytics", name) as out:
            out.write(data)
    with lake.write_atomic("quarantine", SAMPLE) as out:
        out.write(b"")
    manifest = {
        "run_date": DAY.isoformat(),
        "inputs": "abc",
        "outputs": {n: {"rows": d.count(b"\n") - 1, "bytes": len(d), "sha256": "-"}
                    for n, d in FILES.items()},
        "events": {"read": 7},
        "malformed_sample": {"file": f"quarantine/{SAMPLE}", "rows": 0, "bytes": 0},
    }  # fmt: skip
    with lake.write_atomic("analytics", "manifest.json") as out:
        out.write(json.dumps(manifest).encode())
    return lake


def test_the_same_day_and_inputs_keep_what_is_published(lake) -> None:
    assert published_for(lake, DAY, "abc") == Published(
        {"country.csv": 1, "full.csv": 2}, {"read": 7}, reused=True
    )


def test_other_inputs_or_another_day_run_the_job(lake) -> None:
    assert published_for(lake, DAY, "abd") is None
    assert published_for(lake, date(2017, 11, 17), "abc") is None


@pytest.mark.parametrize("gone", ["full.csv", "sample"])
def test_a_missing_file_runs_the_job(lake, gone: str) -> None:
    if gone == "sample":
        lake.remove("quarantine", SAMPLE)
    else:
        lake.remove("analytics", gone)
    assert published_for(lake, DAY, "abc") is None


def test_a_file_of_another_size_runs_the_job(lake) -> None:
    with lake.write_atomic("analytics", "full.csv") as out:
        out.write(FILES["full.csv"] + b"5,6\n")
    assert published_for(lake, DAY, "abc") is None


def test_no_manifest_runs_the_job() -> None:
    get_lake().ensure_zones()
    assert published_for(get_lake(), DAY, "abc") is None


def test_the_job_digest_covers_its_code(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tasks.analytics.current as current

    (tmp_path / "job.py").write_text("x = 1\n")
    monkeypatch.setattr(current, "JOB_SOURCES", tmp_path)
    before = job_digest()
    (tmp_path / "job.py").write_text("x = 2\n")
    assert job_digest() != before
