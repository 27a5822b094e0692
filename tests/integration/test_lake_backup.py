"""The daily backup of raw files to temp/<day>/raw/ and their optional removal, on every lake
backend: only files a committed run recorded in the manifest are copied or removed."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest

from tasks.lake.backup import copy_raw_backups, remove_backed_up_raw, restore_removed_raw
from tasks.lake.extract import record_files
from tasks.lake.files import LakeFile
from tasks.resources.lake import Lake
from tests.conftest import clear_caches

pytest_plugins = ["tests.lake_fixtures"]
pytestmark = pytest.mark.parametrize("database_url", ["embedded"], indirect=True)
DAY = date(2017, 11, 16)
PARTS = {f"{DAY.isoformat()}/part-{i:05d}.json": f'{{"uuid": "e{i}"}}\n'.encode() for i in range(3)}


def put(lake: Lake, name: str, data: bytes) -> None:
    with lake.write_atomic("raw", name) as out:
        out.write(data)


def record(conn: psycopg.Connection, lake: Lake, names: list[str], load_id: str) -> list[LakeFile]:
    """What record_ingested writes once the warehouse committed a load of these raw files."""
    files = [LakeFile("events", "raw", n, *lake.fingerprint("raw", n)) for n in names]
    with conn.transaction():
        record_files(conn, tuple(files), load_id, DAY)
    return files


def backups(lake: Lake) -> dict[str, bytes]:
    return {n: lake.read_bytes("temp", n) for n in lake.list("temp", f"{DAY.isoformat()}/raw/*")}


def remove_raw(monkeypatch: pytest.MonkeyPatch, on: bool) -> None:
    monkeypatch.setenv("PDBI_LAKE_REMOVE_RAW", "true" if on else "false")
    clear_caches()


@pytest.fixture
def day(any_lake: Lake) -> Lake:
    for name, data in PARTS.items():
        put(any_lake, name, data)
    return any_lake


def test_the_taken_raw_files_are_copied_to_temp_and_stay_in_raw(
    day: Lake, migrated: psycopg.Connection
) -> None:
    names = sorted(PARTS)[:2]
    record(migrated, day, names, "load-1")

    copied = copy_raw_backups(migrated, day, DAY, set(names))
    removed = remove_backed_up_raw(migrated, day, DAY)  # PDBI_LAKE_REMOVE_RAW is off

    assert backups(day) == {n.replace("/", "/raw/", 1): PARTS[n] for n in names}
    assert day.list("raw", f"{DAY.isoformat()}/*") == sorted(PARTS)
    assert (copied, removed) == (2, 0)
    assert copy_raw_backups(migrated, day, DAY, set()) == 0  # already backed up


def test_nothing_is_copied_or_removed_before_the_commit(
    day: Lake, migrated: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    remove_raw(monkeypatch, on=True)

    copied = copy_raw_backups(migrated, day, DAY, set(PARTS))  # no manifest rows: no commit
    removed = remove_backed_up_raw(migrated, day, DAY)

    assert (copied, removed) == (0, 0)
    assert backups(day) == {} and day.list("raw", f"{DAY.isoformat()}/*") == sorted(PARTS)


def test_removal_takes_only_recorded_backed_up_unchanged_files(
    day: Lake, migrated: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    remove_raw(monkeypatch, on=True)
    first, second, late = sorted(PARTS)
    record(migrated, day, [first, second], "load-1")
    put(day, second, b'{"uuid": "rewritten after the run took it"}\n')

    copy_raw_backups(migrated, day, DAY, {first, second})
    removed = remove_backed_up_raw(migrated, day, DAY)

    assert day.list("raw", f"{DAY.isoformat()}/*") == [second, late]
    assert backups(day)[first.replace("/", "/raw/", 1)] == PARTS[first]
    assert removed == 1


def test_a_day_run_again_gets_its_removed_parts_back(
    day: Lake, migrated: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    remove_raw(monkeypatch, on=True)
    record(migrated, day, sorted(PARTS), "load-1")
    copy_raw_backups(migrated, day, DAY, set(PARTS))
    remove_backed_up_raw(migrated, day, DAY)
    assert day.list("raw", f"{DAY.isoformat()}/*") == []
    put(day, f"{DAY.isoformat()}/part-00003.json", b'{"uuid": "late"}\n')

    restored = restore_removed_raw(migrated, day, DAY)

    assert restored == 3
    assert {n: day.read_bytes("raw", n) for n in sorted(PARTS)} == PARTS
