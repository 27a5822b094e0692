"""The students of a past day are the versions valid that day; the export survives an empty
warehouse; the archive a replay reads; the days a nightly run catches up; the replay's locks.

On both database paths, with the four days of tests/integration/replay_days.py loaded by the
plain functions the flow's tasks wrap. Expected rows come from the days' own records, in plain
Python (never from the warehouse): a day's students are that day's export, with the names its
university and course files gave them, and a student absent from the day's export (left, or
not arrived yet) is not there.
"""

from __future__ import annotations

import io
import json
import threading
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pyarrow.parquet as pq
import pytest

from bench.replay_driver import Driver
from tasks.errors import DataError
from tasks.lake.archive import archive_path, restore_archive
from tasks.lake.catch_up import missed_days
from tasks.resources import postgres
from tasks.resources.lake import Lake, get_lake
from tasks.run_lock import RunLocked, day_locks, run_lock, warehouse_lock
from tasks.warehouse.export import export_day, export_students, state_name, students_export_name
from tests.integration.replay_days import D1, D2, D3, D4, DAYS, exported, exports, write_day

pytestmark = pytest.mark.integration


def students_of(day: date) -> list[tuple]:
    """(student_id, state, city, university, course) from the day's own files."""
    return students_in(exports(day))


def students_in(files: dict[str, list[dict]]) -> list[tuple]:
    universities = {u["Id"]: u["Name"] for u in files["universities.json"]}
    courses = {c["Id"]: c["Name"] for c in files["courses.json"]}
    return sorted(
        (s["Id"], s["State"], s["City"], universities.get(s["UniversityId"], "unknown"),
         courses.get(s["CourseId"], "unknown"))
        for s in files["students.json"]
    )  # fmt: skip


@pytest.fixture
def loaded(migrated: psycopg.Connection) -> Driver:
    lake = get_lake()
    lake.ensure_zones()
    driver = Driver(lake)
    for day in DAYS:
        write_day(lake, day)
        driver.run(day)
    return driver


def test_each_day_is_exported_with_the_versions_valid_that_day(loaded: Driver) -> None:
    for day in DAYS:
        assert exported(loaded.lake, day) == students_of(day), day
    assert students_of(D3) != students_of(D4)  # the days differ: the test is not vacuous


def test_a_past_day_exported_again_later_gives_what_it_gave_then(loaded: Driver) -> None:
    """After D4: D1 as of D1 has neither s3 (first seen on D3, valid since 1900 for older
    facts) nor D3's university name nor D2's course; s2 is back on D4 but not on D3."""
    lake = loaded.lake
    with postgres.connect() as conn:
        for day in (D1, D3):
            export_students(conn, lake, "temp", f"again/{day}.parquet", day)
        current = postgres.fetch_all(conn, "select * from dw.student_flat order by student_id")
    again = {day: exported_name(lake, f"again/{day}.parquet") for day in (D1, D3)}
    assert again[D1] == students_of(D1)
    assert "s3" not in {row[0] for row in again[D1]}
    assert again[D3] == students_of(D3)
    assert "s2" not in {row[0] for row in again[D3]}
    assert [tuple(r) for r in current] == students_of(D4)  # the latest day is the current view


def exported_name(lake: Lake, name: str) -> list[tuple]:
    table = pq.read_table(io.BytesIO(lake.read_bytes("temp", name)))
    return [tuple(row.values()) for row in table.to_pylist()]


def test_the_export_is_kept_while_dw_is_unchanged_and_made_again_when_it_changes(
    loaded: Driver,
) -> None:
    """A rerun with nothing new keeps the file (same bytes, same mtime); a file that is no
    longer the one recorded is written again, with the same bytes (the file holds rows only);
    a day whose students changed is exported again, with the rows its corrected file gives
    (computed here from that file)."""
    lake, name = loaded.lake, students_export_name(D4)
    before = (lake.read_bytes("temp", name), lake.fs.info(lake.path("temp", name))["mtime"])
    with postgres.connect() as conn:
        assert export_day(conn, lake, D4) is None
    assert (lake.read_bytes("temp", name), lake.fs.info(lake.path("temp", name))["mtime"]) == before

    with lake.write_atomic("temp", name) as out:  # truncated: not the file recorded
        out.write(before[0][: len(before[0]) // 2])
    with postgres.connect() as conn:
        assert export_day(conn, lake, D4) == len(students_of(D4))
    assert lake.read_bytes("temp", name) == before[0]  # the state is kept beside, not inside
    for damaged in (b"[]", b"not json"):  # a state record this module did not write
        with lake.write_atomic("temp", state_name(name)) as out:
            out.write(damaged)
        with postgres.connect() as conn:
            assert export_day(conn, lake, D4) == len(students_of(D4)), damaged
        with postgres.connect() as conn:
            assert export_day(conn, lake, D4) is None  # the record is whole again

    files = exports(D4)
    moved = files["students.json"][0]
    moved["City"] = f"{moved['City']} (moved)"
    with lake.write_atomic("transactional", f"{D4.isoformat()}/students.json") as out:
        out.write(json.dumps(files["students.json"], ensure_ascii=False).encode("utf-8"))
    loaded.run(D4)  # merges the corrected day, then exports as the flow does
    expected = students_in(files)
    assert expected != students_of(D4)  # the change shows in the rows: the test can fail
    assert exported(lake, D4) == expected


def test_an_empty_warehouse_exports_an_empty_file(migrated: psycopg.Connection) -> None:
    """Not pyarrow's "Empty CSV file": a file with the columns and no row."""
    lake = get_lake()
    assert export_students(migrated, lake, "temp", "empty.parquet", D1) == 0
    assert exported_name(lake, "empty.parquet") == []


def test_a_replay_restores_a_missing_archive_from_the_lake_or_names_the_file(
    loaded: Driver,
) -> None:
    lake = loaded.lake
    zone, name = archive_path("students", f"{D2.isoformat()}/students.json")
    assert (zone, name) == ("temp", f"{D2.isoformat()}/transactional/students.json")
    lake.remove(zone, name)
    with postgres.connect() as conn:
        assert "students" in restore_archive(conn, lake, D2)  # copied back from transactional/
        assert lake.exists(zone, name)
        lake.remove(zone, name)
        write_day(lake, D2, variant=1)  # the lake now holds another version
        with pytest.raises(DataError) as missing:
            restore_archive(conn, lake, D2)
    message = str(missing.value)
    assert f"temp/{name}" in message and f"transactional/{D2}/students.json" in message
    assert "no longer holds that version" in message


def test_the_nightly_run_catches_up_days_with_files_and_no_committed_run(
    migrated: psycopg.Connection,
) -> None:
    lake = get_lake()
    lake.ensure_zones()
    driver = Driver(lake)
    write_day(lake, D1)
    driver.run(D1)
    for day in (D2, D4):  # D2 and D4 have files; D3 has none
        write_day(lake, day)
    with lake.open("raw", f"{D3 + timedelta(days=2)}/part-00000.json", "wb") as out:
        out.write(b"{}\n")  # events alone count as files of the day
    before = D4 + timedelta(days=3)
    assert missed_days(migrated, lake, before, 7) == [D2, D4, D3 + timedelta(days=2)]
    assert missed_days(migrated, lake, before, 3) == [D4, D3 + timedelta(days=2)]
    assert missed_days(migrated, lake, before, 0) == []


def test_a_replay_refuses_at_once_when_a_run_of_a_day_it_reloads_is_in_progress(
    database_url: str,
) -> None:
    held, release = threading.Event(), threading.Event()

    def other_run() -> None:
        with run_lock(D3, timeout=0):
            held.set()
            release.wait(30)

    thread = threading.Thread(target=other_run)
    thread.start()
    try:
        assert held.wait(10)
        with pytest.raises(RunLocked) as refused, day_locks([D3, D4], D2):
            pytest.fail("a replay took the lock of a day whose run is in progress")
        assert f"a run of {D3} is in progress" in str(refused.value)
        assert "nothing was changed" in str(refused.value)
        with day_locks([D4], D2):  # other days are free, and released after
            pass
        with run_lock(D4, timeout=0):
            pass
    finally:
        release.set()
        thread.join()


def test_one_writer_of_the_warehouse_at_a_time(database_url: str) -> None:
    with (
        warehouse_lock(timeout=0),
        pytest.raises(RunLocked) as refused,
        warehouse_lock(timeout=0.5),
    ):
        pytest.fail("two runs loaded the warehouse at once")
    assert "another load of the warehouse is still in progress" in str(refused.value)
    assert "pdbi-warehouse-lock" in str(refused.value)


def test_a_late_day_is_loaded_again_from_the_archive_as_taken(
    migrated: psycopg.Connection, tmp_path: Path
) -> None:
    """D3's export in transactional/ is replaced after D3 was loaded; D2 then comes late: the
    replay of D3 reads the version D3's load took (the archive), not the replaced file."""
    lake = get_lake()
    lake.ensure_zones()
    driver = Driver(lake)
    for day in (D1, D3):
        write_day(lake, day)
        driver.run(day)
    replaced = [dict(s, City="Elsewhere") for s in exports(D3)["students.json"]]
    with lake.write_atomic("transactional", f"{D3}/students.json") as out:
        out.write(json.dumps(replaced).encode())
    write_day(lake, D2)
    driver.run(D2)
    assert driver.replayed == [D3]
    assert exported(lake, D3) == students_of(D3)  # not "Elsewhere"
