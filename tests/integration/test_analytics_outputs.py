"""The analytics job's quirks, manifest, quarantine, publishing, JDBC path and session, on real
local Spark and PostgreSQL; numbers checked here are counted by hand from analytics_day.py."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import IO

import psycopg
import pytest
from psycopg import sql
from pyspark.sql import SparkSession

from tasks.analytics.job import OUTPUTS, main, run_job
from tasks.analytics.manifest import partition
from tasks.analytics.publish import publish_files
from tasks.entities import ENTITIES
from tasks.errors import ConfigError
from tasks.resources import postgres
from tasks.resources.lake import Lake, get_lake
from tasks.resources.spark import jdbc_source, read_warehouse_students
from tasks.stage.load import copy_into_stage
from tasks.warehouse import export
from tasks.warehouse.export import export_students
from tasks.warehouse.merge import DIMENSIONS, run_merge_step
from tests.conftest import IN_CI
from tests.integration.analytics_day import (
    EVENT_LINES,
    FULL_HEADER,
    MALFORMED_LINES,
    STUDENTS,
    cell,
    expected_day,
    local,
)
from tests.integration.conftest import JDBC_JAR, LENIENT

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
DAY = date(2017, 11, 16)


def rows(path: str | Path) -> list[list[str]]:
    with open(local(path), encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def by_key(path: str | Path) -> dict[str, list[str]]:
    return {row[0]: row[1:] for row in rows(path)[1:]}


# ---------------------------------------------------------------- the quirks of the source


def test_both_key_spellings_in_one_file_are_one_field(
    analytics_inputs: dict, analytics_run: dict
) -> None:
    first_file = local(analytics_inputs["events"][0]).read_text("utf-8")
    assert '"Page Name"' in first_file and '"PageName"' in first_file  # one file, both
    full = {(r[0], r[1]): r for r in rows(analytics_run["full"]["path"])[1:]}
    assert full[("s1", "Android")][6:8] == ["Materia", "/materia/1"]  # unspaced only
    assert full[("s4", "Website")][6:8] == ["Simulado", "/simulado"]  # both: spaced wins
    assert by_key(analytics_run["categories"]["path"])["Study"] == ["3"]


def test_a_malformed_line_is_counted_and_quarantined_never_a_crash(analytics_run: dict) -> None:
    assert analytics_run["_events"]["malformed"] == 3
    assert analytics_run["_events"]["read"] == 23
    sample = local(analytics_run["_sample"]["path"]).read_text("utf-8").splitlines()
    broken, array, text = MALFORMED_LINES
    assert [json.loads(line) for line in sample] == [
        {"file": "part-00000.json", "line": broken},
        {"file": "part-00001.json", "line": text},
        {"file": "part-00001.json", "line": array},
    ]
    # the broken line and the array name s1: none of their fields may count
    assert by_key(analytics_run["active_students"]["path"])["s1"][0] == "4"
    assert "uy" not in by_key(analytics_run["country"]["path"])


def test_an_event_with_no_student_is_anonymous(analytics_run: dict) -> None:
    assert analytics_run["_events"]["anonymous"] == 3
    assert "fr" not in by_key(analytics_run["country"]["path"])  # seen only anonymously
    assert by_key(analytics_run["users"]["path"])["Cold User"] == ["2"]  # s5 alone, twice


def test_a_student_absent_from_the_warehouse_counts_only_where_no_join_is_needed(
    analytics_run: dict,
) -> None:
    active = by_key(analytics_run["active_students"]["path"])
    assert active["s3"] == ["1", "2017-11-16 10:00:00", "2017-11-16 10:00:00", "Website",
                            "false", "", "", ""]  # fmt: skip
    assert "s3" not in {r[0] for r in rows(analytics_run["full"]["path"])[1:]}
    assert by_key(analytics_run["country"]["path"])["ar"] == ["1"]  # s3 (s6's event: rejected)
    assert sum(int(v[0]) for v in by_key(analytics_run["universities"]["path"]).values()) == 13


def test_a_foreign_country_with_an_upper_case_code_is_lower_cased(analytics_run: dict) -> None:
    countries = by_key(analytics_run["country"]["path"])
    assert countries == {"us": ["4"], "ar": ["1"], "cl": ["1"], "pt": ["1"]}
    assert analytics_run["_events"]["null_country"] == 5  # None, absent, "", absent twice


def test_hours_and_clients_keep_the_events_without_a_value(analytics_run: dict) -> None:
    hours = rows(analytics_run["hours"]["path"])
    assert hours[1] == ["10", "4"] and hours[-1] == ["", "1"]  # a date only
    assert sum(int(r[1]) for r in hours[1:]) == analytics_run["_events"]["identified"]
    # a key without a client ("s6") is rejected by the suite: no event has an empty client
    assert "" not in by_key(analytics_run["clients"]["path"])


# ---------------------------------------------------------------- manifest, sample, publishing


def test_the_manifest_describes_every_output(analytics_run: dict) -> None:
    manifest = json.loads(local(analytics_run["_manifest"]["path"]).read_text("utf-8"))
    folder = local(analytics_run["_manifest"]["path"]).parent
    assert manifest["run_date"] == "2017-11-16"
    assert set(manifest["outputs"]) == {f"{name}.csv" for name in OUTPUTS}
    for name, entry in manifest["outputs"].items():
        data = (folder / name).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest(), name
        assert entry["bytes"] == len(data)
        assert entry["rows"] == len(list(csv.reader(io.StringIO(data.decode("utf-8"))))) - 1
    assert manifest["events"] == expected_day(EVENT_LINES, STUDENTS)["_events"]
    sample = manifest["malformed_sample"]
    assert sample["file"] == "quarantine/2017-11-16/malformed-events.jsonl"
    assert sample["rows"] == 3
    data = (folder / "malformed-events.jsonl").read_bytes()
    assert sample["sha256"] == hashlib.sha256(data).hexdigest()
    quarantined = manifest["quarantined"]
    assert quarantined["file"] == "quarantine/2017-11-16/events.jsonl"
    assert quarantined["rows"] == 6  # 3 rejected and 3 malformed lines, every one
    data = (folder / "events.jsonl").read_bytes()
    assert quarantined["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["validated"] == {"folder": "validated/events/day=2017-11-16/", "rows": 17}


class RecordingLake(Lake):
    """A real local lake that remembers the order of publications, and can fail one."""

    def __init__(self, url: str, fail_on: str | None = None) -> None:
        super().__init__(url)
        self.published: list[str] = []
        self.fail_on = fail_on

    @contextmanager
    def write_atomic(self, zone: str, name: str) -> Iterator[IO[bytes]]:
        if name == self.fail_on:
            raise OSError(f"disk full while publishing {name}")
        with super().write_atomic(zone, name) as out:
            yield out
        self.published.append(f"{zone}/{name}")


def test_publish_writes_every_file_then_the_manifest_last(
    analytics_run: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = RecordingLake(get_lake().url)
    monkeypatch.setattr("tasks.analytics.publish.get_lake", lambda: lake)
    published = publish_files(analytics_run, DAY)
    assert published == {f"{n}.csv": analytics_run[n]["rows"] for n in OUTPUTS}
    assert lake.published[-1] == "analytics/manifest.json"
    assert "quarantine/2017-11-16/malformed-events.jsonl" in lake.published
    assert "quarantine/2017-11-16/events.jsonl" in lake.published
    manifest = json.loads(lake.read_bytes("analytics", "manifest.json"))
    for name, entry in manifest["outputs"].items():  # checksums hold for the lake's copies
        assert hashlib.sha256(lake.read_bytes("analytics", name)).hexdigest() == entry["sha256"]
    quarantined = lake.read_bytes("quarantine", "2017-11-16/malformed-events.jsonl")
    assert hashlib.sha256(quarantined).hexdigest() == manifest["malformed_sample"]["sha256"]


def test_a_day_partition_holds_every_output_full_as_parquet_and_its_manifest_last(
    analytics_run: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow.parquet as pq

    lake = RecordingLake(get_lake().url)
    monkeypatch.setattr("tasks.analytics.publish.get_lake", lambda: lake)
    folder = partition(DAY)
    assert folder == "day=2017-11-16/"
    publish_files(analytics_run, DAY, folder)
    assert lake.published[-1] == f"analytics/{folder}manifest.json"
    assert not lake.exists("analytics", "manifest.json")  # the root is settle_day's
    manifest = json.loads(lake.read_bytes("analytics", f"{folder}manifest.json"))
    for name, entry in manifest["outputs"].items():
        data = lake.read_bytes("analytics", folder + name)
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    parts = lake.list("analytics", f"{folder}full/*")
    assert parts and all(re.fullmatch(rf"{folder}full/part-\d{{5}}\.parquet", p) for p in parts)
    assert {f"{folder}full/{n}": e["bytes"] for n, e in manifest["parquet"]["files"].items()} == (
        lake.sizes("analytics", f"{folder}full/*")
    )
    tables = [pq.read_table(lake.path("analytics", part)) for part in parts]
    assert tables[0].column_names == FULL_HEADER
    rows = [[cell(v) for v in row.values()] for t in tables for row in t.to_pylist()]
    assert rows == expected_day(EVENT_LINES, STUDENTS)["full"][1:]  # full.csv's rows, in order


def test_a_failed_publish_leaves_the_previous_manifest(
    analytics_run: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = RecordingLake(get_lake().url, fail_on="full.csv")
    with lake.write_atomic("analytics", "manifest.json") as out:
        out.write(b'{"run_date": "2017-11-15"}\n')
    monkeypatch.setattr("tasks.analytics.publish.get_lake", lambda: lake)
    with pytest.raises(OSError, match="full.csv"):
        publish_files(analytics_run, DAY)
    assert lake.read_bytes("analytics", "manifest.json") == b'{"run_date": "2017-11-15"}\n'


# ---------------------------------------------------------------- the warehouse by JDBC


def test_the_jdbc_url_comes_from_the_database_url_without_credentials() -> None:
    source = jdbc_source("postgresql://ana:s3cr%40t@db.example:6543/pdbi?sslmode=require")
    assert source.url == "jdbc:postgresql://db.example:6543/pdbi"
    assert (source.user, source.password) == ("ana", "s3cr@t")
    assert source.properties == {"sslmode": "require"}
    assert "s3cr" not in repr(source)
    dsn = jdbc_source("user=postgres host=127.0.0.1 port=5432 dbname=test password=pw")
    assert dsn.url == "jdbc:postgresql://127.0.0.1:5432/test"
    assert dsn.options()["password"] == "pw" and "pw" not in dsn.url


@pytest.mark.parametrize(
    "url", ["postgresql://postgres@%2Ftmp%2Fpg/db", "dbname=db user=postgres", "postgresql:///db"]
)
def test_the_jdbc_path_refuses_a_unix_socket_with_the_fix(url: str) -> None:
    with pytest.raises(ConfigError, match="needs PostgreSQL over TCP.*unset PDBI_JDBC_JAR"):
        jdbc_source(url)


def _snapshot(moved: str | None = None) -> dict[str, list[dict]]:
    """The hand-written students as BASE A exports; `moved` puts s1 in another state."""
    universities = sorted({s["university"] for s in STUDENTS})
    courses = sorted({s["course"] for s in STUDENTS})
    return {
        "universities": [{"Id": i, "Name": n} for i, n in enumerate(universities, start=1)],
        "courses": [{"Id": i, "Name": n} for i, n in enumerate(courses, start=1)],
        "students": [
            {"Id": s["student_id"], "State": moved if moved and s["student_id"] == "s1"
             else s["state"], "City": s["city"], "SignupSource": "Google",
             "UniversityId": universities.index(s["university"]) + 1,
             "CourseId": courses.index(s["course"]) + 1}
            for s in STUDENTS
        ],
    }  # fmt: skip


def _load_warehouse(conn: psycopg.Connection) -> list[dict]:
    """Two days through the real stage COPY and merges, s1 moving between them (so the view
    must skip a closed version); returns dw.student_flat as read with plain SQL."""
    for day, snapshot in ((date(2017, 11, 15), _snapshot("Acre")), (DAY, _snapshot())):
        for name, records in snapshot.items():
            raw = io.BytesIO(json.dumps(records, ensure_ascii=False).encode())
            source = f"{name}.json"
            copy_into_stage(conn, ENTITIES[name], raw, source, "t", day)
        for step in DIMENSIONS:
            run_merge_step(conn, step, day)
    conn.commit()
    query = "select student_id, state, city, university, course from dw.student_flat"
    columns = ("student_id", "state", "city", "university", "course")
    flat = [dict(zip(columns, row, strict=True)) for row in postgres.fetch_all(conn, query)]
    versions = postgres.fetch_all(conn, "select count(*) from dw.dim_student where student_id='s1'")
    assert versions == [(2,)] and len(flat) == len(STUDENTS)  # guards the test itself
    return flat


@pytest.mark.parametrize("database_url", ["server"], indirect=True)
def test_jdbc_and_the_parquet_export_give_the_same_outputs(
    spark: SparkSession,
    migrated: psycopg.Connection,
    database_url: str,
    analytics_inputs: dict,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _require_jdbc_jar()
    lenient(monkeypatch)
    students = _load_warehouse(migrated)
    lake = get_lake()
    export_students(migrated, lake, "temp", "students.parquet", DAY)
    by_parquet = run_job(spark, analytics_inputs["events"], lake.path("temp", "students.parquet"),
                         tmp_path / "parquet", DAY)  # fmt: skip
    jdbc = read_warehouse_students(spark, database_url, DAY)
    by_jdbc = run_job(spark, analytics_inputs["events"], jdbc, tmp_path / "jdbc", DAY)
    for name in [*OUTPUTS, "_manifest", "_sample", "_rejected"]:
        parquet_bytes = local(by_parquet[name]["path"]).read_bytes()
        assert local(by_jdbc[name]["path"]).read_bytes() == parquet_bytes, name
    expected = expected_day(EVENT_LINES, students)
    for name in OUTPUTS:  # and neither is vacuous: both are the plain-Python answer
        assert rows(by_jdbc[name]["path"]) == expected[name], name
    # the spark-submit entry's JDBC option reads PDBI_DATABASE_URL (set by the fixture)
    main(["--events", *analytics_inputs["events"], "--students-jdbc", "--run-date", "2017-11-16",
          "--out", str(tmp_path / "main")])  # fmt: skip
    for name in [f"{n}.csv" for n in OUTPUTS] + ["manifest.json"]:
        assert (tmp_path / "main" / name).read_bytes() == (tmp_path / "parquet" / name).read_bytes()


def lenient(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hand-written day is a quarter unusable on purpose: let it load."""
    from tasks.settings import get_settings

    for name, value in LENIENT.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()


def _require_jdbc_jar() -> None:
    if not JDBC_JAR.is_file():
        if IN_CI:
            pytest.fail("the PostgreSQL JDBC jar is not installed in CI (libpostgresql-jdbc-java)")
        pytest.skip("no PostgreSQL JDBC jar (apt-get install libpostgresql-jdbc-java)")


def _run_child(script: str, cwd: Path, **env: str) -> str:
    """Python in a child process (its own JVM), with this test's settings; returns stdout.
    A script file, not `python -c`: importing Great Expectations there can exit 0 silently
    (pyspark's Spark Connect check calls sys.exit when grpc is missing; field notes)."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), "PDBI_SPARK_DRIVER_MEMORY": "1g", **env}
    path = cwd / "child.py"
    path.write_text(textwrap.dedent(script), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(path)], cwd=cwd, env=full_env,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.parametrize("database_url", ["server"], indirect=True)
def test_a_flow_run_reads_the_warehouse_by_jdbc_when_a_jar_is_set(
    migrated: psycopg.Connection, tmp_path: Path
) -> None:
    """analyse_day, as run_analytics calls it when export_for_spark returned None, in a child
    process whose JVM starts with the jar (as `pdbi run` does); its session is stopped after."""
    _require_jdbc_jar()
    students = _load_warehouse(migrated)
    lake = get_lake()
    with lake.write_atomic("raw", f"{DAY.isoformat()}/part-00000.json") as out:
        out.write(("\n".join(EVENT_LINES) + "\n").encode("utf-8"))
    stdout = _run_child(
        """
        import json
        from datetime import date
        from pyspark import SparkContext
        from tasks.analytics.run import analyse_day

        outputs = analyse_day(date(2017, 11, 16), None)
        assert SparkContext._active_spark_context is None, "the SparkContext leaked"
        print(json.dumps({k: v for k, v in outputs.items() if k != "_validation"}))
        """,
        tmp_path,
        PDBI_JDBC_JAR=str(JDBC_JAR),
        **LENIENT,
    )
    outputs = json.loads(stdout.strip().splitlines()[-1])
    expected = expected_day(EVENT_LINES, students)
    assert outputs["_events"] == expected["_events"]
    for name in OUTPUTS:
        assert rows(outputs[name]["path"]) == expected[name], name


# ---------------------------------------------------------------- one session, always stopped


def test_the_session_stops_when_the_body_raises(tmp_path: Path) -> None:
    """In a child process: the session fixture of this one must not be the one stopped."""
    stdout = _run_child(
        """
        from pyspark import SparkContext
        from pyspark.sql import SparkSession
        from tasks.resources.spark import spark_session

        try:
            with spark_session("pdbi-stop-test") as spark:
                assert spark.range(3).count() == 3
                raise RuntimeError("boom")
        except RuntimeError as exc:
            assert str(exc) == "boom", exc
        assert SparkContext._active_spark_context is None, "the SparkContext leaked"
        assert SparkSession.getActiveSession() is None, "the SparkSession leaked"
        print("stopped")
        """,
        tmp_path,
    )
    assert stdout.strip().endswith("stopped")


# ---------------------------------------------------------------- the students export

EXPORT_VALUES = """
select * from (values
    ('s1', null, '', 'a,b', 'q"uote'),
    ('s2', 'line' || chr(10) || 'break', 'cr' || chr(13) || chr(10) || 'lf', '\\N', ' pad '),
    ('s3', '"', '""', ',', 'Ѕão Раulo ω')
) as v (student_id, state, city, university, course)
union all
select 'g' || i, 'state ' || i % 7, case when i % 5 = 0 then null else 'c' || i end, 'u', 'c'
from generate_series(1, 5000) as i
"""


def test_the_export_reads_every_value_back_as_postgresql_holds_it(
    migrated: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NULL stays apart from '', quotes, commas and line breaks stay data, rows crossing
    the CSV reader's blocks stay whole: the batches equal psycopg's own reading."""
    monkeypatch.setattr(export, "BLOCK_BYTES", 4096)  # many blocks, rows across their edges
    expected = postgres.fetch_all(migrated, EXPORT_VALUES)
    batches = list(export._batches(migrated, sql.SQL(EXPORT_VALUES)))
    got = [tuple(row.values()) for batch in batches for row in batch.to_pylist()]
    assert len(batches) > 10 and got == expected
    assert expected[0][1] is None and expected[0][2] == ""  # the test's own guard
