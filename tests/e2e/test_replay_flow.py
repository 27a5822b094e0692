"""History through the real flow (Prefect, PostgreSQL, GX, Spark, a lake on disk), scale 0.01:
a past day reprocessed after a later one rewrites its own partition with its own day's students
and leaves the root at the later day; a day loaded late replays the days after it, rebuilds
their partitions and leaves the warehouse of loading in date order; the nightly run
catches up a missed day, and an empty export stops its day with the file and figures named.

Expected outputs come from the day's own files (tests/e2e/expected.py, plain Python); the
warehouse and analytics zone of loading in date order come from the same flow run in date order
over a second copy of the same generated days, on a database and lake of their own.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from flows.daily import daily_pipeline
from tasks.errors import DataError
from tasks.generator.day import generate
from tasks.lake.catch_up import CatchUpFailed
from tasks.resources import postgres
from tasks.resources.lake import Lake, get_lake
from tasks.run_date import scheduled_day
from tests.canonical import State, assert_same_state, lake_state
from tests.conftest import SERVER_URL, clear_caches
from tests.e2e.expected import expected_outputs, students_flat
from tests.integration.replay_days import warehouse_dump

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_api")]
D1, D2, D3 = (date(2017, 11, d) for d in (16, 17, 18))
STATES = ("Bahia", "Ceará", "Paraná")


def published(name: str) -> Counter:
    text = get_lake().read_bytes("analytics", name).decode("utf-8")
    return Counter(tuple(row) for row in list(csv.reader(io.StringIO(text)))[1:])


def check_published(lake_root: Path, day: date, folder: str = "") -> None:
    """Every output of the day as computed from the day's own files: at the zone's root, or in
    the folder given (a day's partition)."""
    manifest = json.loads(get_lake().read_bytes("analytics", f"{folder}manifest.json"))
    assert manifest["run_date"] == day.isoformat()
    for name, rows in expected_outputs(lake_root, day.isoformat()).items():
        assert published(folder + name) == rows, f"{folder}{name} of {day}"


def check_partition(lake_root: Path, day: date) -> None:
    """The day's partition: every output of the day, and full's Parquet parts holding
    full.csv's rows."""
    import pyarrow.parquet as pq

    folder = f"day={day.isoformat()}/"
    check_published(lake_root, day, folder)
    parts = get_lake().list("analytics", f"{folder}full/part-*.parquet")
    rows = Counter(
        tuple("" if v is None else str(v) for v in row.values())
        for part in parts
        for row in pq.read_table(get_lake().path("analytics", part)).to_pylist()
    )
    assert rows == expected_outputs(lake_root, day.isoformat())["full.csv"]


def series() -> dict[str, dict[str, str]]:
    text = get_lake().read_bytes("analytics", "series/daily.csv").decode("utf-8")
    return {row["day"]: row for row in csv.DictReader(io.StringIO(text))}


def opened_versions(lake_root: Path, before: date | None, day: date) -> int:
    """Student versions the day's load opens, from the two days' exports: students new on the
    day, and students whose state, city, university or course differs from the day before."""
    now = students_flat(lake_root / "transactional" / day.isoformat())
    then = students_flat(lake_root / "transactional" / before.isoformat()) if before else {}
    return sum(1 for sid, flat in now.items() if then.get(sid) != flat)


def move_students(lake_root: Path, day: date) -> int:
    """Every third student of the day's export lives in another state from that day on."""
    path = lake_root / "transactional" / day.isoformat() / "students.json"
    raw = path.read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    students = json.loads(raw.decode("utf-8-sig"))
    for i, s in enumerate(students[::3]):
        s["State"] = STATES[i % 3] if s.get("State") != STATES[i % 3] else "Acre"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + json.dumps(students).encode("utf-8"))
    return len(students[::3])


@pytest.mark.parametrize("database_url", ["embedded", "server"], indirect=True)
def test_a_past_day_reprocessed_after_a_later_one_rewrites_its_partition_only(
    database_url: str, isolated_settings: Path
) -> None:
    lake_root = isolated_settings / "lake"
    for day in (D1, D2):
        generate(get_lake(), scale=0.01, seed=11, run_date=day)
    assert move_students(lake_root, D2) > 10  # D+1 moves students to other states
    daily_pipeline(D1)
    daily_pipeline(D2)
    check_published(lake_root, D2)
    check_partition(lake_root, D1)
    check_partition(lake_root, D2)
    d1_states = expected_outputs(lake_root, D1.isoformat())["states.csv"]
    d2_states = expected_outputs(lake_root, D2.isoformat())["states.csv"]
    assert d1_states != d2_states

    # D reprocessed: its export replaced (more students moved, on D itself), so D is loaded
    # again, D+1 replayed after it, and D's partition recomputed from D's own states
    assert move_students(lake_root, D1) > 10
    summary = daily_pipeline(D1)
    assert summary.replayed == [D2]
    new_d1_states = expected_outputs(lake_root, D1.isoformat())["states.csv"]
    assert new_d1_states not in (d1_states, d2_states)
    check_partition(lake_root, D1)
    assert published("day=2017-11-16/states.csv") == new_d1_states
    check_partition(lake_root, D2)
    check_published(lake_root, D2)  # the root still at D+1
    assert published("states.csv") == d2_states

    rows = series()  # one row per day, the versions each day's load opened
    assert list(rows) == [D1.isoformat(), D2.isoformat()]
    assert int(rows[D1.isoformat()]["new_versions_students"]) == opened_versions(
        lake_root, None, D1
    )
    assert int(rows[D2.isoformat()]["new_versions_students"]) == opened_versions(lake_root, D1, D2)
    for day in (D1, D2):
        manifest = json.loads(get_lake().read_bytes("analytics", f"day={day}/manifest.json"))
        assert int(rows[day.isoformat()]["page_views"]) == manifest["events"]["valid"]


@pytest.fixture
def reference(isolated_settings: Path) -> Iterator[tuple[dict, State]]:
    """Loading D1, D2, D3 in date order through the same flow, from a copy of the same days, on
    a database, lake and data folder of its own: the warehouse, and the analytics zone (every
    day's partition, the series, the root)."""
    lake = Lake(str(isolated_settings / "reference-lake"))
    for day in (D1, D2, D3):
        generate(lake, scale=0.01, seed=5, run_date=day)
    name = f"pdbi_ref_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(SERVER_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        pytest.skip(f"no PostgreSQL server at {SERVER_URL} for the reference")
    with admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PDBI_DATABASE_URL", psycopg.conninfo.make_conninfo(SERVER_URL, dbname=name))
        env.setenv("PDBI_LAKE_URL", lake.url)
        env.setenv("PDBI_DATA_DIR", str(isolated_settings / "reference-data"))
        clear_caches()
        try:
            for day in (D1, D2, D3):
                assert daily_pipeline(day).replayed == []
            with postgres.connect() as conn:
                dump = warehouse_dump(conn)
            zone = lake_state(get_lake())
        finally:
            clear_caches()
    with psycopg.connect(SERVER_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(name)))
    yield dump, zone


@pytest.mark.parametrize("database_url", ["embedded"], indirect=True)
def test_a_day_loaded_late_replays_the_later_days_and_equals_date_order(
    database_url: str, isolated_settings: Path, reference: tuple[dict, State]
) -> None:
    lake_root = isolated_settings / "lake"
    for day in (D1, D2, D3):
        generate(get_lake(), scale=0.01, seed=5, run_date=day)
    daily_pipeline(D1)
    daily_pipeline(D3)  # the night of D2 failed: D3 loads on top of D1
    summary = daily_pipeline(D2)
    assert summary.replayed == [D3]
    for day in (D1, D2, D3):  # every day's partition as of its own day
        check_partition(lake_root, day)
    check_published(lake_root, D3)  # the root at the latest day
    dump, zone = reference
    with postgres.connect() as conn:
        assert warehouse_dump(conn) == dump
        days = postgres.fetch_all(conn, "select run_date from meta.warehouse_days order by 1")
    assert [d for (d,) in days] == [D1, D2, D3]
    # the same partitions, series and root as date order, file by file (Parquet by its rows)
    assert {f"analytics/day={d}/manifest.json" for d in (D1, D2, D3)} <= set(zone)
    assert "analytics/series/daily.csv" in zone
    assert_same_state(zone, lake_state(get_lake()))


def empty_students(lake_root: Path, day: date) -> Path:
    path = lake_root / "transactional" / day.isoformat() / "students.json"
    path.write_text("[]", encoding="utf-8")
    return path


@pytest.mark.parametrize("database_url", ["server"], indirect=True)
def test_an_empty_export_on_the_first_day_stops_with_the_file_named(
    database_url: str, isolated_settings: Path
) -> None:
    generate(get_lake(), scale=0.01, seed=3, run_date=D1)
    empty_students(isolated_settings / "lake", D1)
    with pytest.raises(DataError) as stopped:
        daily_pipeline(D1)
    message = str(stopped.value)
    assert f"transactional/{D1}/students.json is empty: 0 students loaded of 0 rows read" in message
    assert "dw.dim_student holds none yet" in message
    assert not get_lake().exists("analytics", "manifest.json")  # nothing published


@pytest.mark.parametrize("database_url", ["server"], indirect=True)
def test_the_nightly_run_catches_up_and_an_accepted_empty_day_goes_through(
    database_url: str, isolated_settings: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake_root = isolated_settings / "lake"
    day = scheduled_day(None)  # what a run with no date processes (the day before today)
    missed, empty = day - timedelta(days=3), day - timedelta(days=2)
    for one in (missed, empty, day):
        generate(get_lake(), scale=0.01, seed=9, run_date=one)
    empty_students(lake_root, empty)

    with pytest.raises(CatchUpFailed) as failed:
        daily_pipeline()
    message = str(failed.value)
    assert f"{day} was loaded, but 1 earlier day(s) it caught up failed" in message
    assert f"transactional/{empty}/students.json is empty" in message
    check_published(lake_root, day)
    with postgres.connect() as conn:
        loaded = postgres.fetch_all(conn, "select run_date from meta.warehouse_days order by 1")
        assert [d for (d,) in loaded] == [missed, day]

    monkeypatch.setenv("PDBI_ACCEPT_DAYS", json.dumps([empty.isoformat()]))
    clear_caches()
    summary = daily_pipeline()  # the empty day, accepted, then the day again from its archive
    assert summary.run_date == day and summary.replayed == [day]
    check_published(lake_root, day)
    with postgres.connect() as conn:
        loaded = postgres.fetch_all(conn, "select run_date from meta.warehouse_days order by 1")
        decisions = postgres.fetch_all(
            conn, "select run_date, decision from meta.guard_decisions order by decided_at"
        )
    assert [d for (d,) in loaded] == [missed, empty, day]
    assert decisions == [(empty, "stopped"), (empty, "accepted")]
