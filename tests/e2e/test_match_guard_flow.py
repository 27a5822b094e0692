"""The match guard through the real flow (Prefect, PostgreSQL, GX, Spark, a lake on disk),
scale 0.01: a day whose students export lost most of its students matches few of the day's
page views; the run stops before publishing with one sentence naming the figures, and
PDBI_ACCEPT_DAYS lets the day through; both decisions are rows of meta.guard_decisions and the
accepted one is in the events' validation result. The expected shares are counted here from
the day's own files (tests/e2e/expected.py reads them), not by the pipeline."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from flows.daily import daily_pipeline
from tasks.errors import DataError
from tasks.generator.day import generate
from tasks.resources import postgres
from tasks.resources.lake import get_lake
from tests.conftest import clear_caches
from tests.e2e.expected import expected_outputs, students_flat
from tests.e2e.test_replay_flow import check_partition, check_published

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_api")]
D1, D2 = date(2017, 11, 16), date(2017, 11, 17)


def keep_students(lake_root: Path, day: date, every: int) -> int:
    """Only every `every`-th student of the day's export is left; returns how many."""
    path = lake_root / "transactional" / day.isoformat() / "students.json"
    raw = path.read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    students = json.loads(raw.decode("utf-8-sig"))[::every]
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + json.dumps(students).encode("utf-8"))
    return len(students)


def share(lake_root: Path, day: date) -> float:
    """The day's identified views of students its export holds, over its identified views:
    full.csv's rows are distinct, so active_students.csv's page views are counted instead."""
    active = expected_outputs(lake_root, day.isoformat())["active_students.csv"]
    known = set(students_flat(lake_root / "transactional" / day.isoformat()))
    views = sum(int(row[1]) * n for row, n in active.items())
    matched = sum(int(row[1]) * n for row, n in active.items() if row[0] in known)
    return matched / views


@pytest.mark.parametrize("database_url", ["server"], indirect=True)
def test_a_day_matching_few_students_stops_then_is_accepted(
    database_url: str, isolated_settings: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake_root = isolated_settings / "lake"
    for day in (D1, D2):
        generate(get_lake(), scale=0.01, seed=21, run_date=day)
    assert keep_students(lake_root, D2, every=10) > 10
    first, second = share(lake_root, D1), share(lake_root, D2)
    assert second < 0.5 * first  # what the guard must catch, counted from the files

    daily_pipeline(D1)
    with pytest.raises(DataError) as stopped:
        daily_pipeline(D2)
    message = str(stopped.value)
    assert message.startswith(f"raw/{D2}/: ")
    assert f"({second:.1%}) are of students the warehouse holds" in message
    assert f"median of the 1 previous day(s) ({first:.1%}, PDBI_MIN_MATCH_RATIO=0.5)" in message
    assert "Traceback" not in message and "\n" not in message
    assert not get_lake().exists("analytics", f"day={D2}/manifest.json")  # nothing published
    check_published(lake_root, D1)  # the root still at the day before

    monkeypatch.setenv("PDBI_ACCEPT_DAYS", json.dumps([D2.isoformat()]))
    clear_caches()
    daily_pipeline(D2)
    check_partition(lake_root, D2)
    check_published(lake_root, D2)
    with postgres.connect() as conn:
        decisions = postgres.fetch_all(
            conn,
            "select run_date, guard, decision from meta.guard_decisions order by decided_at",
        )
        (guards,) = postgres.fetch_all(
            conn,
            "select result->'meta'->'pdbi'->'guards' from meta.validation_results"
            " where entity = 'events' and run_date = %s and status = 'loaded'",
            (D2,),
        )[0]
    assert decisions == [
        (D2, "low-student-match", "stopped"),
        (D2, "low-student-match", "accepted"),
    ]
    assert [g["decision"] for g in guards] == ["accepted"]
    assert guards[0]["figures"]["match_ratio"] == round(second, 6)
