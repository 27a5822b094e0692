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
QUARANTINED = "2017-11-16/events.jsonl"
VALIDATED = "events/day=2017-11-16/part-00000.parquet"
PART = "day=2017-11-16/"  # the day's partition of the analytics zone
PARQUET = {"part-00000.parquet": b"PAR1xxPAR1", "part-00001.parquet": b"PAR1yPAR1"}


@pytest.fixture
def lake():
    lake = get_lake()
    lake.ensure_zones()
    for name, data in FILES.items():
        with lake.write_atomic("analytics", PART + name) as out:
            out.write(data)
    for name, data in PARQUET.items():
        with lake.write_atomic("analytics", f"{PART}full/{name}") as out:
            out.write(data)
    with lake.write_atomic("quarantine", SAMPLE) as out:
        out.write(b"")
    with lake.write_atomic("quarantine", QUARANTINED) as out:
        out.write(b'{"source_row": 3}\n')
    with lake.write_atomic("validated", VALIDATED) as out:
        out.write(b"PAR1")
    manifest = {
        "run_date": DAY.isoformat(),
        "inputs": "abc",
        "outputs": {n: {"rows": d.count(b"\n") - 1, "bytes": len(d), "sha256": "-"}
                    for n, d in FILES.items()},
        "events": {"read": 7},
        "malformed_sample": {"file": f"quarantine/{SAMPLE}", "rows": 0, "bytes": 0},
        "quarantined": {"file": f"quarantine/{QUARANTINED}", "rows": 1, "bytes": 18},
        "parquet": {"folder": "full/", "rows": 2,
                    "files": {n: {"bytes": len(d)} for n, d in PARQUET.items()}},
    }  # fmt: skip
    with lake.write_atomic("analytics", PART + "manifest.json") as out:
        out.write(json.dumps(manifest).encode())
    return lake


def test_the_same_day_and_inputs_keep_what_is_published(lake) -> None:
    assert published_for(lake, DAY, "abc") == Published(
        {"country.csv": 1, "full.csv": 2}, {"read": 7}, reused=True
    )


def test_other_inputs_or_another_day_run_the_job(lake) -> None:
    assert published_for(lake, DAY, "abd") is None
    assert published_for(lake, date(2017, 11, 17), "abc") is None


@pytest.mark.parametrize(
    "gone", ["full.csv", "sample", "quarantined", "validated", "full/part-00001.parquet"]
)
def test_a_missing_file_runs_the_job(lake, gone: str) -> None:
    if gone == "sample":
        lake.remove("quarantine", SAMPLE)
    elif gone == "quarantined":
        lake.remove("quarantine", QUARANTINED)
    elif gone == "validated":  # the validated events of the day are an output too
        lake.remove("validated", VALIDATED)
    else:
        lake.remove("analytics", PART + gone)
    assert published_for(lake, DAY, "abc") is None


def test_the_root_alone_does_not_count(lake) -> None:
    """A root holding the day (an older lake, or the day copied up) is not the partition."""
    for name in [*FILES, "manifest.json"]:
        lake.copy("analytics", PART + name, "analytics", name)
    lake.remove("analytics", PART + "manifest.json")
    assert published_for(lake, DAY, "abc") is None


def test_a_manifest_without_parquet_parts_runs_the_job(lake) -> None:
    manifest = json.loads(lake.read_bytes("analytics", PART + "manifest.json"))
    del manifest["parquet"]
    with lake.write_atomic("analytics", PART + "manifest.json") as out:
        out.write(json.dumps(manifest).encode())
    assert published_for(lake, DAY, "abc") is None


def test_a_file_of_another_size_runs_the_job(lake) -> None:
    with lake.write_atomic("analytics", PART + "full.csv") as out:
        out.write(FILES["full.csv"] + b"5,6\n")
    assert published_for(lake, DAY, "abc") is None


def test_no_manifest_runs_the_job() -> None:
    get_lake().ensure_zones()
    assert published_for(get_lake(), DAY, "abc") is None


def test_the_job_digest_covers_its_code(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tasks.analytics.current as current

    (tmp_path / "job.py").write_text("x = 1\n")
    monkeypatch.setattr(current, "JOB_SOURCES", (tmp_path / "job.py",))
    before = job_digest()
    (tmp_path / "job.py").write_text("x = 2\n")
    assert job_digest() != before


def test_the_job_digest_covers_the_events_suite_and_what_it_rejects(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tasks.analytics.current import JOB_SOURCES
    from tasks.settings import get_settings

    assert {p.name for p in JOB_SOURCES} >= {"events.json", "events.py", "job.py", "day.py"}
    before = job_digest()
    monkeypatch.setenv("PDBI_REJECT_THRESHOLDS", '{"events": 0.2}')
    get_settings.cache_clear()
    assert job_digest() != before
    monkeypatch.setenv("PDBI_EVENTS_OPT_IN_CHECKS", "true")
    get_settings.cache_clear()
    assert len({before, job_digest()}) == 2
