"""Every run is recorded in meta.pipeline_runs, succeeded or failed, and the dashboard's
Pipeline page reads that history when no Prefect API answers."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from flows.daily import daily_pipeline
from panel_app import warehouse
from tasks.entities import ENTITIES
from tasks.generator.day import generate
from tasks.resources import postgres
from tasks.resources.lake import get_lake

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_api")]
DAY = date(2017, 11, 16)
COLUMNS = "run_name, run_date, state, started_at, finished_at, rows_read, rows_loaded, " \
    "rows_rejected, counts, error"  # fmt: skip


def records_in(path: Path) -> int:
    """Records of one lake file, counted here: a JSON array or JSON lines."""
    text = path.read_text(encoding="utf-8-sig").strip()
    if text.startswith("["):
        return len(json.loads(text))
    return sum(1 for line in text.splitlines() if line.strip())


def runs() -> list[dict]:
    with postgres.connect() as conn, conn.cursor() as cur:
        cur.execute(f"select {COLUMNS} from meta.pipeline_runs order by started_at")  # noqa: S608
        names = [c.name for c in cur.description or []]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


@pytest.mark.parametrize("database_url", ["server"], indirect=True)
def test_a_successful_and_a_failed_run_are_both_recorded(
    database_url: str, isolated_settings: Path
) -> None:
    lake = get_lake()
    generate(lake, scale=0.002, seed=5, run_date=DAY)
    lake_root = isolated_settings / "lake"
    expected = {
        name: sum(
            records_in(p)
            for p in (lake_root / entity.zone / DAY.isoformat()).glob(entity.file_name)
        )
        for name, entity in ENTITIES.items()  # BASE A: the summary counts events apart
    }

    summary = daily_pipeline(DAY)

    (done,) = runs()
    assert (done["run_name"], done["run_date"], done["state"]) == (f"daily-{DAY}", DAY, "Completed")
    assert done["started_at"] < done["finished_at"] and done["error"] is None
    assert done["rows_read"] == sum(expected.values())
    assert done["rows_loaded"] + done["rows_rejected"] == done["rows_read"]
    staged = done["counts"]["staged"]
    assert {name: c["read"] for name, c in staged.items()} == expected
    assert done["counts"]["published"] == summary.outputs
    assert done["counts"]["events"] == summary.events

    # the Pipeline page's fallback source shows it
    warehouse.warehouse_runs.clear()
    frame = warehouse.warehouse_runs()
    assert list(frame["run"]) == [f"daily-{DAY}"]
    assert list(frame["state"]) == ["Completed"]

    # a failed run: a day whose students export cannot be parsed
    bad_day = DAY - timedelta(days=1)
    generate(lake, scale=0.002, seed=5, run_date=bad_day)
    (lake_root / "transactional" / bad_day.isoformat() / "students.json").write_text(
        '[{"Id": 1, "State": "SP"', encoding="utf-8"
    )
    with pytest.raises(Exception) as failure:
        daily_pipeline(bad_day)

    failed = runs()[-1]
    assert (failed["run_name"], failed["state"]) == (f"daily-{bad_day}", "Failed")
    assert failed["finished_at"] is not None and failed["rows_read"] is None
    assert "students.json" in failed["error"]
    assert failed["error"] in " ".join(str(failure.value).split())
    warehouse.warehouse_runs.clear()
    frame = warehouse.warehouse_runs()
    assert list(frame["state"]) == ["Failed", "Completed"]
    assert "students.json" in frame["error"].iloc[0]


@pytest.mark.parametrize("database_url", ["server"], indirect=True)
def test_a_run_whose_data_docs_fail_ends_failed_after_publishing(
    database_url: str, isolated_settings: Path
) -> None:
    """The reports zone cannot hold the site (a file stands where its folder goes): the day is
    still loaded and published, then the run fails, saying why, and the record says so."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    from tasks.summary import IncompleteRun

    lake = get_lake()
    generate(lake, scale=0.002, seed=5, run_date=DAY)
    lake.ensure_zones()
    (isolated_settings / "lake" / "reports" / "data_docs").write_text("not a folder")

    with pytest.raises(IncompleteRun) as failure:
        daily_pipeline(DAY)

    message = str(failure.value)
    assert message.startswith(f"{DAY} was loaded and published, but ")
    assert "Data Docs" in message
    summary = failure.value.summary
    assert summary.outputs and all(lake.exists("analytics", name) for name in summary.outputs)
    assert summary.data_docs is not None and summary.data_docs.error
    (failed,) = runs()
    assert failed["state"] == "Failed" and failed["error"] == " ".join(message.split())
    # the API holds earlier tests' runs too, more than one page of them: ask for the newest
    with get_client(sync_client=True) as client:
        (latest,) = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["data-docs"])),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )
    assert "Data Docs unavailable" in str(latest.data)
