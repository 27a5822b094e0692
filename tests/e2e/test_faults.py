"""Faults in the middle of real runs: each run completes through its retries or fails with a
clear message, and the clean run after it leaves the warehouse and the analytics outputs equal
(tests/canonical.py) to those of one undisturbed run over the same input, shared per session.

The day is tiny (tests/e2e/faults.py): the faults are about timing and recovery, not volume.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import psycopg
import pytest

from flows.daily import daily_pipeline
from tasks.entities import ENTITIES
from tasks.resources import postgres
from tasks.resources.lake import get_lake
from tests.canonical import State, assert_same_state, canonical_state
from tests.conftest import SERVER_URL, clear_caches
from tests.e2e.faults import (
    DAY,
    LATE_PART,
    D,
    Sighting,
    pause_on,
    remove_pauses,
    server_database,
    terminate,
    watch_backends,
    write_day,
)

pytest_plugins = ["tests.lake_fixtures"]
pytestmark = pytest.mark.usefixtures("prefect_api")
SPARK_PARTITIONS = "2"  # a tiny day: fewer shuffle tasks, seconds less per run


@pytest.fixture(autouse=True)
def small_spark(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PDBI_SPARK_SHUFFLE_PARTITIONS", SPARK_PARTITIONS)
    clear_caches()


def current_state() -> State:
    with postgres.connect() as conn:
        return canonical_state(conn, get_lake())


@pytest.fixture(scope="session")
def undisturbed(prefect_api: None, tmp_path_factory: pytest.TempPathFactory) -> State:
    """The state one undisturbed run leaves, over the day every fault test uses."""
    root = tmp_path_factory.mktemp("undisturbed")
    with pytest.MonkeyPatch.context() as env, server_database("pdbi_undisturbed") as url:
        env.setenv("PDBI_DATABASE_URL", url)
        env.setenv("PDBI_LAKE_URL", str(root / "lake"))
        env.setenv("PDBI_DATA_DIR", str(root / "data"))
        env.setenv("PDBI_SPARK_SHUFFLE_PARTITIONS", SPARK_PARTITIONS)
        clear_caches()
        try:
            write_day(get_lake())
            daily_pipeline(DAY)
            state = current_state()
        finally:
            clear_caches()
    assert len(state["dw.dim_student"]) > 100 and len(state["analytics/full.csv"]) > 100
    return state


@pytest.fixture
def fault_db(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """A fresh, migrated database on the 127.0.0.1 server as PDBI_DATABASE_URL; yields
    (url, database name)."""
    with server_database() as url:
        monkeypatch.setenv("PDBI_DATABASE_URL", url)
        clear_caches()
        with postgres.connect() as conn:
            postgres.apply_migrations(conn)
        yield url, psycopg.conninfo.conninfo_to_dict(url)["dbname"]
        clear_caches()


def converges(undisturbed: State) -> None:
    """The clean run after a fault: it must bring the state to the undisturbed one."""
    with postgres.connect() as conn:
        remove_pauses(conn)
    daily_pipeline(DAY)
    assert_same_state(undisturbed, current_state())


# --- the database backend killed -------------------------------------------------------------

KILLS = {
    # where: (table the pause sits on, per row?, the statement the backend must be running)
    # the stage load's COPY goes into the source's landing table (migration 0017)
    "stage-copy": ("stage.landing_students", True, 'copy "stage"."landing_students"%'),
    # pg_stat_activity keeps the first 1 kB of a query: the files' opening comments name them
    "dimension-merge": ("dw.dim_student", False, "-- scd_apply:%"),
    "fact-load": ("dw.fct_session", False, "-- fct_session:%"),
}


@pytest.mark.parametrize("where", sorted(KILLS))
def test_a_backend_killed_mid_statement_is_retried(
    where: str, undisturbed: State, fault_db: tuple[str, str]
) -> None:
    url, dbname = fault_db
    table, each_row, statement = KILLS[where]
    with postgres.connect() as conn:
        pause_on(conn, table, each_row=each_row)
    write_day(get_lake())
    watch = watch_backends(SERVER_URL, dbname, statement, terminate(SERVER_URL))

    summary = daily_pipeline(DAY)  # completes: the task is retried after the kill

    watch.wait()
    assert len(watch.seen) == 1, f"the backend was never seen in {statement}"
    assert summary.staged and summary.merged
    converges(undisturbed)


# --- the database server stopped and started again ----------------------------------------


def test_the_database_server_restarted_mid_merge_is_survived(
    undisturbed: State, isolated_settings: Path
) -> None:
    """The embedded server (PDBI_DATABASE_URL unset: pdbi starts pgserver in PDBI_DATA_DIR),
    stopped while a dimension merge runs and started again a second later."""
    import pgserver

    pgdata = isolated_settings / "data" / "pgdata"
    url = postgres.database_url()  # starts the embedded server
    with postgres.connect() as conn:
        postgres.apply_migrations(conn)
        pause_on(conn, "dw.dim_university")
    write_day(get_lake())

    def restart(seen: Sighting) -> None:
        postgres.stop_embedded(pgdata)  # a fast shutdown: every backend is terminated
        time.sleep(1)
        pgserver.get_server(pgdata, cleanup_mode=None).ensure_postgres_running()

    dbname = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    watch = watch_backends(url, dbname, "-- scd_apply:%", restart)
    try:
        summary = daily_pipeline(DAY)
        watch.wait(30)
        assert len(watch.seen) == 1 and summary.merged
        converges(undisturbed)
    finally:
        postgres.stop_embedded(pgdata)


# --- the pipeline's own process killed --------------------------------------------------------


def start_pdbi_run(log: Path) -> subprocess.Popen:
    """`pdbi run` in its own process group (a kill takes its Spark JVM too), reporting to the
    session's Prefect API instead of starting one of its own."""
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    pdbi = Path(sys.executable).with_name("pdbi")
    return subprocess.Popen(
        [str(pdbi), "run", "--date", D],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def kill_group(process: subprocess.Popen) -> None:
    assert process.poll() is None, "the run ended before the kill"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(30)


def count(query: str) -> int:
    with postgres.connect() as conn:
        return postgres.fetch_all(conn, query)[0][0]


def test_the_pipeline_killed_after_stage_before_the_merges_reruns_clean(
    undisturbed: State, fault_db: tuple[str, str], tmp_path: Path
) -> None:
    url, dbname = fault_db
    with postgres.connect() as conn:
        # the lookup chain's first write (the reference dimensions merge beside the chain, so a
        # pause there left the chain free to commit the students before the kill, under load)
        pause_on(conn, "dw.dim_university", seconds=5)
    write_day(get_lake())
    process = start_pdbi_run(tmp_path / "run.log")
    watch = watch_backends(SERVER_URL, dbname, "-- scd_apply:%", lambda _: kill_group(process))
    watch.wait(240)

    assert len(watch.seen) == 1 and process.returncode == -signal.SIGKILL
    # stage committed: the BASE A sources (the events are counted by the Spark step, not staged)
    assert count("select count(distinct entity) from meta.load_counts") == len(ENTITIES)
    assert count("select count(*) from dw.dim_student") == 1  # the unknown member alone
    converges(undisturbed)


def test_the_pipeline_killed_during_the_spark_job_reruns_clean(
    undisturbed: State, fault_db: tuple[str, str], isolated_settings: Path, tmp_path: Path
) -> None:
    write_day(get_lake())
    process = start_pdbi_run(tmp_path / "run.log")
    # the job writes into the lake's temp/<day>/analytics/ (a local lake is Spark's to read)
    spark_out = Path(get_lake().path("temp", f"{D}/analytics"))
    deadline = time.monotonic() + 240
    while not any(spark_out.glob("**/_temporary")) and time.monotonic() < deadline:
        assert process.poll() is None, (tmp_path / "run.log").read_text()[-3000:]
        time.sleep(0.05)  # <output>/_temporary/: Spark's committer is writing an output

    kill_group(process)

    assert count("select count(*) from meta.ingested_files") > 0  # the warehouse had committed
    converges(undisturbed)


# --- the lake changing under the run -------------------------------------------------------


def test_a_lake_file_rewritten_while_it_is_read(
    undisturbed: State, fault_db: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """students.json rewritten in place (same records, other layout) when half of it was read:
    the read sees the old first half and the new second half. The run must not take that mix
    as data; the clean run takes the new version."""
    lake = get_lake()
    write_day(lake)
    name = f"{D}/students.json"
    old = lake.read_bytes("transactional", name)
    records = json.loads(old.decode("utf-8-sig"))
    new = b"\xef\xbb\xbf" + json.dumps(records, indent=2, ensure_ascii=False).encode("utf-8")
    real_open, rewritten = lake.open, []

    @contextmanager
    def open_during_rewrite(zone: str, file: str, mode: str = "rb") -> Iterator[IO]:
        if (zone, file) != ("transactional", name) or rewritten:
            with real_open(zone, file, mode) as handle:
                yield handle
            return
        with real_open(zone, file, mode) as handle:
            head = handle.read(len(old) // 2)
            Path(lake.path(zone, file)).write_bytes(new)  # same inode, truncated and rewritten
            rewritten.append(file)
            yield io.BufferedReader(io.BytesIO(head + handle.read()))  # type: ignore[arg-type]

    monkeypatch.setattr(lake, "open", open_during_rewrite)
    try:
        daily_pipeline(DAY)
    except Exception as exc:  # noqa: BLE001 - failing is allowed, with a clear message
        assert "students.json" in str(exc), f"unclear failure: {exc!r}"
    monkeypatch.undo()
    assert rewritten == [name]
    converges(undisturbed)


def test_a_part_file_that_appears_after_the_listing(
    undisturbed: State, fault_db: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = get_lake()
    write_day(lake)
    late = lake.read_bytes("raw", LATE_PART)
    lake.remove("raw", LATE_PART)
    real_list, listed = lake.list, []

    def list_then_add(zone: str, pattern: str = "*") -> list[str]:
        names = real_list(zone, pattern)
        if zone == "raw" and not listed:
            listed.append(names)
            with lake.write_atomic("raw", LATE_PART) as out:
                out.write(late)
        return names

    monkeypatch.setattr(lake, "list", list_then_add)
    daily_pipeline(DAY)
    monkeypatch.undo()

    assert listed == [[f"{D}/part-00000.json"]]
    converges(undisturbed)


# --- Drive failing at random ----------------------------------------------------------------


def test_drive_failing_at_random_points_of_a_run(
    undisturbed: State, fault_db: tuple[str, str], request: pytest.FixtureRequest
) -> None:
    """The lake on the Drive emulator, which answers one request in twenty (seeded) with 429,
    500 or a dropped connection, through the whole run. Each call has 4 tries (gdrive_lake):
    at this rate a call failing all of them is about one in 10^5."""
    lake = request.getfixturevalue("gdrive_lake")
    emulator = request.getfixturevalue("drive_emulator")
    write_day(lake)
    dealt = emulator.inject_random(0.05, ("429", "500", "drop"), seed=10)

    daily_pipeline(DAY)

    emulator.clear_faults()
    assert {f.kind for f in dealt} == {"429", "500", "drop"}, dealt  # every kind struck
    converges(undisturbed)


# --- two runs of one day at once --------------------------------------------------------------


def test_two_runs_of_the_same_day_at_once(
    undisturbed: State, fault_db: tuple[str, str], tmp_path: Path
) -> None:
    """Both succeed (one after the other), or the second refuses in one clear sentence; either
    way the state after them and a clean run is the undisturbed one."""
    write_day(get_lake())
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    runs = [start_pdbi_run(log) for log in logs]
    codes = [run.wait(300) for run in runs]

    outputs = [log.read_text(errors="replace") for log in logs]
    if codes != [0, 0]:
        assert sorted(codes) == [0, 1], outputs
        refused = outputs[codes.index(1)]
        # issue 7's run lock: "another run of <day> is still in progress (...)"
        assert "error:" in refused and f"another run of {D}" in refused, refused[-3000:]
    converges(undisturbed)
