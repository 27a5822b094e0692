"""The guard before publishing: an empty export of a type-2 source stops the day, on a lake's
first day and later, with the file and its figures named; PDBI_ACCEPT_DAYS lets it through;
every decision is recorded. Real stage loads (GX) from lake files, on both database paths.
The figures expected are the test's own inputs (rows written, the earlier day's students)."""

from __future__ import annotations

import json
from datetime import date

import psycopg
import pytest

from bench.replay_driver import Driver
from tasks.entities import ENTITIES
from tasks.resources import postgres
from tasks.resources.lake import get_lake
from tasks.settings import get_settings
from tasks.stage.load import stage_source
from tasks.warehouse.guards import decide, empty_exports
from tests.integration.replay_days import D1, D2, exports, write_day

pytestmark = pytest.mark.integration


def stage_day(day: date, load_id: str, students: list[dict]) -> None:
    """The day's files with these students, each source staged as the flow does."""
    lake = get_lake()
    lake.ensure_zones()
    write_day(lake, day)
    with lake.write_atomic("transactional", f"{day}/students.json") as out:
        out.write(json.dumps(students).encode())
    for entity in ENTITIES.values():
        stage_source(entity, day, load_id)


def decisions(conn: psycopg.Connection) -> list[tuple]:
    return postgres.fetch_all(
        conn,
        "select run_date, source_file, decision, figures->>'rows_loaded',"
        " figures->>'dimension_current', figures->>'previous_rows' from meta.guard_decisions",
    )


def test_an_empty_export_on_the_lakes_first_day_stops_the_run(
    migrated: psycopg.Connection,
) -> None:
    stage_day(D1, "first", [])
    failed = empty_exports(migrated, D1, "first")
    assert [f.source_file for f in failed] == [f"transactional/{D1}/students.json"]
    stop = decide(migrated, D1, "first", failed)
    migrated.commit()
    assert stop is not None
    assert f"transactional/{D1}/students.json is empty: 0 students loaded of 0 rows read" in stop
    assert "dw.dim_student holds none yet, and no earlier load took any" in stop
    assert f"PDBI_ACCEPT_DAYS='[\"{D1}\"]'" in stop
    assert decisions(migrated) == [(D1, f"transactional/{D1}/students.json", "stopped", "0",
                                    "0", None)]  # fmt: skip


def test_an_empty_export_on_a_later_day_names_what_the_warehouse_holds(
    migrated: psycopg.Connection,
) -> None:
    lake = get_lake()
    lake.ensure_zones()
    write_day(lake, D1)
    Driver(lake).run(D1)
    before = len(exports(D1)["students.json"])
    stage_day(D2, "later", [])
    stop = decide(migrated, D2, "later", empty_exports(migrated, D2, "later"))
    assert stop is not None
    assert (
        f"dw.dim_student holds {before} current, and the previous load ({D1}) took {before}" in stop
    )


def test_an_accepted_day_goes_on_and_is_recorded(
    migrated: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PDBI_ACCEPT_DAYS", json.dumps([D1.isoformat()]))
    get_settings.cache_clear()
    stage_day(D1, "accepted", [])
    failed = empty_exports(migrated, D1, "accepted")
    assert decide(migrated, D1, "accepted", failed) is None
    migrated.commit()
    assert [row[2] for row in decisions(migrated)] == ["accepted"]


def test_a_day_with_students_passes(migrated: psycopg.Connection) -> None:
    stage_day(D1, "full", exports(D1)["students.json"])
    assert empty_exports(migrated, D1, "full") == []
    assert decide(migrated, D1, "full", []) is None
