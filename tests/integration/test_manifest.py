"""Incremental extraction against real PostgreSQL (embedded and 127.0.0.1): the manifest decides
which of a day's lake files are new, and which sources stage must load.

A committed stage load is stood in for by its meta.load_counts rows (what tasks/stage/load.py writes
in the load's transaction); the flow-level version of these stories is in tests/e2e."""

from __future__ import annotations

import hashlib
import json
from datetime import date

import psycopg
import pytest

from tasks.entities import ENTITIES, SOURCES
from tasks.lake.extract import plan_extraction, record_files
from tasks.lake.files import NewFiles
from tasks.resources import postgres
from tasks.resources.lake import Lake, get_lake

DAY = date(2017, 11, 16)
STAGE_SOURCES = tuple(ENTITIES)  # the events are not staged: the Spark job validates them


def write(lake: Lake, zone: str, name: str, data: bytes) -> None:
    with lake.write_atomic(zone, f"{DAY.isoformat()}/{name}") as out:
        out.write(data)


def write_day(lake: Lake, parts: int = 2) -> dict[str, bytes]:
    """A tiny day: every BASE A file and `parts` part files; returns zone/path -> bytes."""
    files = {}
    for name in ENTITIES:
        files[f"transactional/{DAY.isoformat()}/{name}.json"] = json.dumps([{"Id": name}]).encode()
    for i in range(parts):
        files[f"raw/{DAY.isoformat()}/part-{i:05d}.json"] = f'{{"uuid": "e{i}"}}\n'.encode()
    for key, data in files.items():
        zone, _, name = key.split("/", 2)
        write(lake, zone, name, data)
    return files


def commit_stage_loads(conn: psycopg.Connection, plan: NewFiles, load_id: str) -> None:
    """What a committed stage load of each planned source leaves in meta.load_counts."""
    day = DAY.isoformat()
    for source in plan.sources:
        entity = SOURCES[source]
        for name in get_lake().list(entity.zone, f"{day}/{entity.file_name}"):
            conn.execute(
                "insert into meta.load_counts (load_id, run_date, entity, source_file, rows_read,"
                " rows_loaded, rows_rejected) values (%s, %s, %s, %s, 1, 1, 0)",
                (load_id, DAY, source, f"{entity.zone}/{name}"),
            )
    conn.commit()


def run(conn: psycopg.Connection, load_id: str) -> NewFiles:
    """One run as the flow does it: plan, load stage, (merge), then record the manifest."""
    plan = plan_extraction(conn, get_lake(), DAY)
    commit_stage_loads(conn, plan, load_id)
    with conn.transaction():
        record_files(conn, plan.files, load_id, DAY)
    return plan


def taken(plan: NewFiles) -> list[str]:
    return sorted(f.source_file for f in plan.files)


def test_a_first_run_takes_every_file_and_records_it(migrated: psycopg.Connection) -> None:
    files = write_day(get_lake())

    plan = run(migrated, "load-1")

    assert taken(plan) == sorted(files)
    assert plan.sources == STAGE_SOURCES
    rows = postgres.fetch_all(
        migrated,
        "select zone || '/' || path, size_bytes, checksum, load_id, run_date,"
        " ingested_at is not null from meta.ingested_files order by 1",
    )
    assert rows == [
        (key, len(data), f"md5:{hashlib.md5(data).hexdigest()}", "load-1", DAY, True)
        for key, data in sorted(files.items())
    ]


def test_a_rerun_with_nothing_new_takes_nothing_and_loads_nothing(
    migrated: psycopg.Connection,
) -> None:
    write_day(get_lake())
    run(migrated, "load-1")

    plan = run(migrated, "load-2")

    assert plan.files == () and plan.sources == ()
    assert postgres.fetch_all(migrated, "select count(*) from meta.ingested_files")[0][0] == 9


@pytest.mark.parametrize("same_size", [False, True])
def test_a_changed_file_is_taken_again_and_only_its_source_reloads(
    migrated: psycopg.Connection, same_size: bool
) -> None:
    lake = get_lake()
    write_day(lake)
    run(migrated, "load-1")
    new = json.dumps([{"Id": "STUDENTS"}] if same_size else [{"Id": 1}, {"Id": 2}]).encode()
    write(lake, "transactional", "students.json", new)

    plan = run(migrated, "load-2")

    assert taken(plan) == [f"transactional/{DAY.isoformat()}/students.json"]
    assert plan.sources == ("students",)
    assert plan.files[0].checksum == f"md5:{hashlib.md5(new).hexdigest()}"


def test_a_new_part_file_is_taken_alone(migrated: psycopg.Connection) -> None:
    lake = get_lake()
    write_day(lake)
    run(migrated, "load-1")
    write(lake, "raw", "part-00002.json", b'{"uuid": "late"}\n')

    plan = run(migrated, "load-2")

    assert taken(plan) == [f"raw/{DAY.isoformat()}/part-00002.json"]
    assert [f.source_file for f in plan.events] == taken(plan)
    assert plan.sources == ()  # no stage load: the Spark job reads every part of the day
    by_load = postgres.fetch_all(
        migrated, "select load_id, count(*) from meta.ingested_files group by 1 order by 1"
    )
    assert by_load == [("load-1", 9), ("load-2", 1)]


def test_a_file_changed_back_is_taken_again(migrated: psycopg.Connection) -> None:
    lake = get_lake()
    write_day(lake)
    original = lake.read_bytes("transactional", f"{DAY.isoformat()}/courses.json")
    run(migrated, "load-1")
    write(lake, "transactional", "courses.json", b'[{"Id": 99}]')
    run(migrated, "load-2")
    write(lake, "transactional", "courses.json", original)

    plan = run(migrated, "load-3")

    assert taken(plan) == [f"transactional/{DAY.isoformat()}/courses.json"]


def test_sources_whose_stage_holds_another_load_are_reloaded_with_the_new_ones(
    migrated: psycopg.Connection,
) -> None:
    """Stage holds another day's courses (a backfill ran since): merging them with today's new
    students would mix days, so courses are loaded again though its file did not change."""
    lake = get_lake()
    write_day(lake)
    run(migrated, "load-1")
    migrated.execute(
        "insert into meta.load_counts (load_id, run_date, entity, source_file, rows_read,"
        " rows_loaded, rows_rejected, loaded_at) values ('other-day', '2017-11-15', 'courses',"
        " 'transactional/2017-11-15/courses.json', 1, 1, 0, now() + interval '1 minute')"
    )
    migrated.commit()
    write(lake, "transactional", "students.json", b'[{"Id": "new"}]')

    plan = plan_extraction(migrated, lake, DAY)

    assert taken(plan) == [f"transactional/{DAY.isoformat()}/students.json"]
    assert set(plan.sources) == {"students", "courses"}


def test_a_crash_between_load_and_commit_leaves_the_manifest_untouched(
    migrated: psycopg.Connection,
) -> None:
    files = write_day(get_lake())
    plan = plan_extraction(migrated, get_lake(), DAY)
    commit_stage_loads(migrated, plan, "load-1")  # stage committed; merges would run now
    with pytest.raises(RuntimeError), migrated.transaction():
        record_files(migrated, plan.files, "load-1", DAY)
        raise RuntimeError("the worker died before the commit")

    assert postgres.fetch_all(migrated, "select count(*) from meta.ingested_files")[0][0] == 0
    again = plan_extraction(migrated, get_lake(), DAY)
    assert taken(again) == sorted(files) and again.sources == STAGE_SOURCES


def test_recording_a_load_again_replaces_its_own_rows(migrated: psycopg.Connection) -> None:
    write_day(get_lake())
    plan = plan_extraction(migrated, get_lake(), DAY)
    with migrated.transaction():
        record_files(migrated, plan.files, "load-1", DAY)
    with migrated.transaction():  # a retried task
        record_files(migrated, plan.files, "load-1", DAY)

    assert postgres.fetch_all(migrated, "select count(*) from meta.ingested_files")[0][0] == 9
