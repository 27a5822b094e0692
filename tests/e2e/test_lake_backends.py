"""`daily_pipeline` with the lake on a local folder, on S3 (moto's server) and on Google Drive (the
emulator, credentials from a Prefect Secret block), same code; and incremental extraction at the
flow level: a rerun with nothing new loads nothing, a new part file is taken alone, raw files
leave (PDBI_LAKE_REMOVE_RAW) only after the day is published, a crash between load and commit
leaves the manifest untouched, a Drive outage fails with one sentence.

Expected outputs come from tests/e2e/expected.py over a local copy of the generated day."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections import Counter
from datetime import date
from pathlib import Path

import psycopg
import pytest

from flows.daily import daily_pipeline
from tasks.generator.day import generate
from tasks.resources import postgres
from tasks.resources.gdrive_api import DriveUnavailableError
from tasks.resources.lake import Lake, get_lake
from tests.conftest import clear_caches
from tests.drive_emulator import DriveEmulator
from tests.e2e.expected import expected_outputs

pytest_plugins = ["tests.lake_fixtures"]
pytestmark = [
    pytest.mark.usefixtures("prefect_api"),
    pytest.mark.parametrize("database_url", ["embedded"], indirect=True),
]
DAY = date(2017, 11, 16)
D = DAY.isoformat()


def mirror_day(lake: Lake, root: Path) -> Path:
    """The day's inputs copied to a local folder, for the independent expectation."""
    for zone in ("transactional", "raw"):
        for name in lake.list(zone, f"{D}/*"):
            target = root / zone / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(lake.read_bytes(zone, name))
    return root


def outputs(lake: Lake, names: list[str]) -> dict[str, Counter]:
    """Rows of each published CSV, header dropped, as a multiset."""
    found = {}
    for name in names:
        rows = list(csv.reader(io.StringIO(lake.read_bytes("analytics", name).decode())))
        found[name] = Counter(tuple(r) for r in rows[1:])
    return found


def count(sql: str) -> int:
    with postgres.connect() as conn:
        return postgres.fetch_all(conn, sql)[0][0]


def use_secret_block(drive_credentials: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Drive credentials from a Prefect Secret block instead of a file setting."""
    from prefect.blocks.system import Secret

    Secret(value=drive_credentials.read_text()).save("pdbi-e2e-drive", overwrite=True)
    monkeypatch.delenv("PDBI_GDRIVE_CREDENTIALS")
    monkeypatch.setenv("PDBI_GDRIVE_SECRET_BLOCK", "pdbi-e2e-drive")
    clear_caches()
    return drive_credentials.read_text()


@pytest.mark.parametrize("backend", ["local", "s3", "gdrive"])
def test_the_pipeline_runs_on_every_backend_and_a_rerun_loads_nothing(
    backend: str,
    database_url: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    lake = request.getfixturevalue(f"{backend}_lake")
    if backend == "gdrive":  # credentials from a Prefect Secret block only
        use_secret_block(request.getfixturevalue("drive_credentials"), monkeypatch)
        lake = get_lake()
        request.getfixturevalue("drive_emulator").inject("503", times=2)  # retries log too
    caplog.set_level(logging.DEBUG)
    generate(lake, scale=0.01, seed=11, run_date=DAY)
    expected = expected_outputs(mirror_day(lake, tmp_path / "expected"), D)
    day_files = len(lake.list("transactional", f"{D}/*")) + len(lake.list("raw", f"{D}/*"))

    first = daily_pipeline(DAY)

    assert outputs(lake, list(expected)) == expected
    assert first.staged and first.merged
    assert count("select count(*) from meta.ingested_files") == day_files
    parts = lake.list("raw", f"{D}/part-*.json")
    backups = {n: lake.read_bytes("temp", n.replace("/", "/raw/", 1)) for n in parts}
    assert backups == {n: lake.read_bytes("raw", n) for n in parts}
    published = {n: lake.read_bytes("analytics", n) for n in expected}

    second = daily_pipeline(DAY)

    assert second.staged == [] and second.merged == []
    assert count("select count(distinct load_id) from meta.load_counts") == 1
    assert count("select count(*) from meta.ingested_files") == day_files
    assert {n: lake.read_bytes("analytics", n) for n in expected} == published
    if backend == "gdrive":
        assert_no_credentials_leaked(request, caplog.text, *capfd.readouterr())


def assert_no_credentials_leaked(
    request: pytest.FixtureRequest, logged: str, out: str, err: str
) -> None:
    """The key, its id and every access token Drive granted: in no log (pytest's capture of
    every logger at DEBUG, Prefect's API logs, stdout/stderr), no lake file, no local file."""
    from prefect.client.orchestration import get_client
    from prefect.logging.handlers import APILogWorker

    emulator: DriveEmulator = request.getfixturevalue("drive_emulator")
    key = json.loads(request.getfixturevalue("drive_credentials").read_text())
    APILogWorker.drain_all(timeout=10)
    with get_client(sync_client=True) as client:
        prefect_logs = "\n".join(log.message for log in client.read_logs())
    stored = b"".join(p.read_bytes() for p in emulator.storage.iterdir() if p.is_file())
    data_dir = request.getfixturevalue("isolated_settings") / "data"
    local = b"".join(p.read_bytes() for p in data_dir.rglob("*") if p.is_file())
    assert prefect_logs and logged and emulator.issued
    for secret in [key["private_key"].splitlines()[5], key["private_key_id"], *emulator.issued]:
        for text in (logged, prefect_logs, out, err):
            assert secret not in text, "a credential reached a log"
        assert secret.encode() not in stored and secret.encode() not in local


def test_a_new_part_file_is_taken_alone(
    database_url: str, local_lake: Lake, tmp_path: Path
) -> None:
    generate(local_lake, scale=0.01, seed=5, run_date=DAY)
    daily_pipeline(DAY)
    first_load = count("select min(load_id) from meta.load_counts") or ""
    late = [json.dumps({**json.loads(line), "uuid": f"late-{i}"}) for i, line in enumerate(
        local_lake.read_bytes("raw", f"{D}/part-00000.json").decode().splitlines()[:50]
    )]  # fmt: skip
    with local_lake.write_atomic("raw", f"{D}/part-00099.json") as out:
        out.write(("\n".join(late) + "\n").encode())

    summary = daily_pipeline(DAY)

    with postgres.connect() as conn:
        taken = postgres.fetch_all(
            conn, "select path from meta.ingested_files where load_id <> %s", (first_load,)
        )
        loaded = postgres.fetch_all(
            conn, "select distinct entity from meta.load_counts where load_id <> %s", (first_load,)
        )
    assert taken == [(f"{D}/part-00099.json",)]
    assert loaded == [("events",)] and summary.staged == []
    expected = expected_outputs(mirror_day(local_lake, tmp_path / "expected"), D)
    assert outputs(local_lake, list(expected)) == expected  # the outputs cover the whole day
    assert local_lake.exists("temp", f"{D}/raw/part-00099.json")


def test_with_removal_on_the_day_is_published_whole_before_its_raw_files_leave(
    database_url: str, local_lake: Lake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The backup is copied beside the Spark job; the removal waits for the publish: the
    outputs count every part, and a rerun puts the parts back, loads nothing, removes them."""
    monkeypatch.setenv("PDBI_LAKE_REMOVE_RAW", "true")
    clear_caches()
    generate(local_lake, scale=0.01, seed=13, run_date=DAY)
    parts = {n: local_lake.read_bytes("raw", n) for n in local_lake.list("raw", f"{D}/*")}
    expected = expected_outputs(mirror_day(local_lake, tmp_path / "expected"), D)

    first = daily_pipeline(DAY)

    assert first.staged and outputs(local_lake, list(expected)) == expected
    assert local_lake.list("raw", f"{D}/*") == []
    assert {n: local_lake.read_bytes("temp", n.replace("/", "/raw/", 1)) for n in parts} == parts
    published = {n: local_lake.read_bytes("analytics", n) for n in expected}

    second = daily_pipeline(DAY)

    assert second.staged == [] and second.merged == []
    assert local_lake.list("raw", f"{D}/*") == []
    assert {n: local_lake.read_bytes("analytics", n) for n in expected} == published


def test_a_crash_between_load_and_commit_leaves_the_manifest_untouched(
    database_url: str, local_lake: Lake, tmp_path: Path
) -> None:
    """The last merge fails (a trigger raises, as a crashed worker would leave it): stage is
    loaded and committed, the manifest is not written; the next run takes every file again."""
    generate(local_lake, scale=0.01, seed=9, run_date=DAY)
    with psycopg.connect(database_url, autocommit=True) as conn:
        postgres.apply_migrations(conn)
        conn.execute(
            "create function public.crash() returns trigger language plpgsql as"
            " $$ begin raise exception 'injected crash before the warehouse commit'; end $$;"
            " create trigger crash before insert or update on dw.fct_follow"
            " for each statement execute function public.crash()"
        )
    with pytest.raises(Exception, match="injected crash"):
        daily_pipeline(DAY)
    assert count("select count(*) from meta.load_counts") > 0  # stage loads committed
    assert count("select count(*) from meta.ingested_files") == 0
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("drop trigger crash on dw.fct_follow")

    summary = daily_pipeline(DAY)

    day_files = len(local_lake.list("transactional", f"{D}/*")) + len(
        local_lake.list("raw", f"{D}/*")
    )
    assert summary.staged and summary.merged
    assert count("select count(*) from meta.ingested_files") == day_files
    expected = expected_outputs(mirror_day(local_lake, tmp_path / "expected"), D)
    assert outputs(local_lake, list(expected)) == expected


def test_a_persistent_drive_outage_fails_the_run_with_one_clear_sentence(
    database_url: str, gdrive_lake: Lake, drive_emulator: DriveEmulator
) -> None:
    drive_emulator.inject("503", times=-1, match="GET /drive/v2/files?q=")

    with pytest.raises(DriveUnavailableError, match="failed 4 times .* giving up"):
        daily_pipeline(DAY)
