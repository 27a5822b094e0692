"""`pdbi run` end to end at scale 0.01, on the embedded database and on the 127.0.0.1 server."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from flows.daily import daily_pipeline
from tasks.generator.day import generate
from tasks.resources import postgres
from tasks.resources.lake import get_lake
from tasks.resources.prefect_runs import task_runs
from tests.conftest import IN_CI, SERVER_URL, clear_caches
from tests.e2e.expected import event_counts, expected_outputs

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_api")]
DAY = date(2017, 11, 16)
HEADERS = {
    "country.csv": ["country", "count"],
    "users.csv": ["custom_4", "count"],
    "full.csv": [
        "student_id",
        "client",
        "at",
        "browser",
        "country",
        "custom_4",
        "page_name",
        "last_accessed_url",
        "state",
        "city",
        "university",
        "course",
    ],
}
NEW_HEADERS = {
    "states.csv": ["state", "students"],
    "hours.csv": ["hour", "page_views"],
    "clients.csv": ["client", "page_views"],
    "categories.csv": ["page_category", "page_views"],
    "universities.csv": ["university", "page_views", "students"],
    "courses.csv": ["course", "page_views", "students"],
    "active_students.csv": ["student_id", "page_views", "first_at", "last_at", "clients",
                            "in_warehouse", "state", "university", "course"],
}  # fmt: skip
WAREHOUSE_TABLES = (
    "dim_university",
    "dim_course",
    "dim_subject",
    "dim_student",
    "dim_client",
    "dim_plan",
    "dim_date",
    "fct_session",
    "fct_subscription",
    "fct_follow",
)


@pytest.fixture(params=["embedded", "server"])
def pipeline_database(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, isolated_settings: Path
) -> Iterator[str]:
    """'embedded': no database URL at all, so pdbi starts pgserver itself in PDBI_DATA_DIR.
    'server': a fresh database on the 127.0.0.1 server."""
    if request.param == "embedded":
        yield "embedded"
        postgres.stop_embedded(isolated_settings / "data" / "pgdata")
        return
    name = f"pdbi_e2e_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(SERVER_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        if IN_CI:
            pytest.fail(f"no PostgreSQL server at {SERVER_URL} in CI")
        pytest.skip(f"no PostgreSQL server at {SERVER_URL}")
    with admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    monkeypatch.setenv("PDBI_DATABASE_URL", psycopg.conninfo.make_conninfo(SERVER_URL, dbname=name))
    clear_caches()
    yield "server"
    with psycopg.connect(SERVER_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(name)))


def read_csv(name: str) -> tuple[list[str], Counter]:
    text = get_lake().read_bytes("analytics", name).decode("utf-8")
    header, *rows = list(csv.reader(io.StringIO(text)))
    return header, Counter(tuple(row) for row in rows)


def warehouse_dump() -> dict[str, list[tuple]]:
    with postgres.connect() as conn:
        return {
            t: postgres.fetch_all(
                conn,
                sql.SQL("select * from {} as t order by t::text").format(sql.Identifier("dw", t)),
            )
            for t in WAREHOUSE_TABLES
        }


def test_daily_pipeline_matches_an_independent_computation(
    pipeline_database: str, isolated_settings: Path
) -> None:
    lake_root = isolated_settings / "lake"
    written = generate(get_lake(), scale=0.01, seed=11, run_date=DAY)

    summary = daily_pipeline(DAY)

    expected = expected_outputs(lake_root, DAY.isoformat())
    assert set(expected) == set(HEADERS) | set(NEW_HEADERS)
    for name, rows in expected.items():
        header, actual = read_csv(name)
        assert header == {**HEADERS, **NEW_HEADERS}[name], name
        assert actual == rows, f"{name} differs from the independent computation"
    assert len(expected["full.csv"]) > 100  # the join really matched students
    assert summary.outputs == {name: sum(rows.values()) for name, rows in expected.items()}
    check_manifest(expected, event_counts(lake_root, DAY.isoformat()))
    staged = {c.entity: c for c in summary.staged}
    for entity, count in staged.items():
        assert count.rows_read == written[f"{entity}.json"]
        assert count.rows_read == count.rows_loaded + count.rows_rejected
    with postgres.connect() as conn:
        students = postgres.fetch_all(conn, "select count(*) from dw.student_current")[0][0]
    assert students == len({s for s in _student_ids(lake_root)})


def check_manifest(
    expected: dict[str, Counter], events: dict[str, int], malformed_sample: int = 0
) -> None:
    """analytics/manifest.json: the run date, the event counts, and for every published file
    its rows and a sha256 recomputed here from the lake's bytes."""
    lake = get_lake()
    manifest = json.loads(lake.read_bytes("analytics", "manifest.json"))
    assert manifest["run_date"] == DAY.isoformat()
    assert manifest["events"] == events
    assert set(manifest["outputs"]) == set(expected)
    for name, entry in manifest["outputs"].items():
        data = lake.read_bytes("analytics", name)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest(), name
        assert entry["rows"] == sum(expected[name].values()), name
    sample = lake.read_bytes("quarantine", f"{DAY.isoformat()}/malformed-events.jsonl")
    assert len(sample.splitlines()) == manifest["malformed_sample"]["rows"] == malformed_sample
    quarantined = lake.read_bytes("quarantine", f"{DAY.isoformat()}/events.jsonl")
    assert len(quarantined.splitlines()) == manifest["quarantined"]["rows"]
    assert manifest["quarantined"]["rows"] == events["rejected"] + events["malformed"]
    assert manifest["validated"]["rows"] == events["valid"]


def _student_ids(lake_root: Path) -> set[str]:
    from tests.e2e.expected import students_flat

    return set(students_flat(lake_root / "transactional" / DAY.isoformat()))


def spark_runs(flow_run_id: uuid.UUID) -> list:
    return [r for r in task_runs(flow_run_id) if r.name.startswith("run_analytics-")]


@pytest.mark.parametrize("database_url", ["server"], indirect=True)
def test_rerunning_a_day_changes_nothing(database_url: str) -> None:
    generate(get_lake(), scale=0.01, seed=5, run_date=DAY)
    daily_pipeline(DAY)
    first_dw = warehouse_dump()
    published = [*HEADERS, *NEW_HEADERS, "manifest.json"]
    first_files = {n: get_lake().read_bytes("analytics", n) for n in published}
    second = daily_pipeline(DAY, return_state=True)
    assert warehouse_dump() == first_dw
    assert {n: get_lake().read_bytes("analytics", n) for n in published} == first_files
    # nothing new and the same inputs: the published outputs stand, Spark does not run
    assert not spark_runs(second.state_details.flow_run_id)
    manifest = json.loads(first_files["manifest.json"])
    assert second.result().outputs == {n: e["rows"] for n, e in manifest["outputs"].items()}
    assert second.result().events == manifest["events"]
    # an output gone from the root only: the root is copied again from the day's partition
    get_lake().remove("analytics", "full.csv")
    third = daily_pipeline(DAY, return_state=True)
    assert not spark_runs(third.state_details.flow_run_id)
    assert {n: get_lake().read_bytes("analytics", n) for n in published} == first_files
    # an output gone from the day's partition: the job runs again and writes the same bytes
    get_lake().remove("analytics", f"day={DAY.isoformat()}/full.csv")
    fourth = daily_pipeline(DAY, return_state=True)
    assert spark_runs(fourth.state_details.flow_run_id)
    assert {n: get_lake().read_bytes("analytics", n) for n in published} == first_files
    partition = {n: get_lake().read_bytes("analytics", f"day={DAY.isoformat()}/{n}")
                 for n in published}  # fmt: skip
    assert partition == first_files


REJECTED = [  # each breaks one critical rule, with values no valid event has
    {"at": "16/11/2017", "studentId_clientType": "{sid}@Website", "country": "zz",
     "custom_4": "Rejected User", "Page Name": "REJECTED"},
    {"studentId_clientType": "{sid}@Android", "country": "zz", "custom_4": "Rejected User"},
    {"at": "2017-11-16 10:00:00.000", "studentId_clientType": "{sid}@Fax", "country": "zz",
     "custom_4": "Rejected User", "Page Name": "REJECTED"},
]  # fmt: skip
MALFORMED = ['{"studentId_clientType": "{sid}@Website", "country": "zz"', '["not", "an object"]']


def plant_unusable(lake_root: Path, sid: str) -> list[str]:
    """Rejected and malformed lines, of a student the warehouse knows, appended to the first
    part file (well under the 1% threshold); returns the lines."""
    part = lake_root / "raw" / DAY.isoformat() / "part-00000.json"
    lines = [json.dumps(r).replace("{sid}", sid) for r in REJECTED]
    lines += [line.replace("{sid}", sid) for line in MALFORMED]
    with open(part, "a", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    return lines


@pytest.mark.parametrize("database_url", ["server"], indirect=True)
def test_rejected_events_are_quarantined_and_count_nowhere(database_url: str) -> None:
    lake_root = Path(get_lake().url)
    generate(get_lake(), scale=0.01, seed=13, run_date=DAY)
    sid = sorted(_student_ids(lake_root))[0]
    planted = plant_unusable(lake_root, sid)

    summary = daily_pipeline(DAY)

    expected = expected_outputs(lake_root, DAY.isoformat())  # over the valid events only
    for name, rows in expected.items():
        assert read_csv(name)[1] == rows, f"{name} counts an event the suite rejected"
    assert "zz" not in {row[0] for row in read_csv("country.csv")[1]}
    assert "Rejected User" not in {row[0] for row in read_csv("users.csv")[1]}
    assert "REJECTED" not in {row[6] for row in read_csv("full.csv")[1]}
    counts = event_counts(lake_root, DAY.isoformat())
    assert (counts["rejected"], counts["malformed"]) == (3, 2)
    assert summary.events == counts
    check_manifest(expected, counts, malformed_sample=2)
    quarantine = get_lake().read_bytes("quarantine", f"{DAY.isoformat()}/events.jsonl")
    quarantined = [json.loads(line) for line in quarantine.splitlines()]
    part = lake_root / "raw" / DAY.isoformat() / "part-00000.json"
    total = len(part.read_bytes().splitlines())
    assert [q["source_row"] for q in quarantined] == list(range(total - 4, total + 1))
    assert [q["record"] for q in quarantined[3:]] == planted[3:]  # malformed: the exact text
    with postgres.connect() as conn:
        stored = postgres.fetch_all(
            conn, "select count(*) from meta.rejected_rows where entity = 'events'"
        )[0][0]
        validation = postgres.fetch_all(
            conn, "select status, rows_evaluated, rows_rejected from meta.validation_results"
            " where entity = 'events'",
        )  # fmt: skip
    assert stored == 5 and validation == [("loaded", counts["read"], 5)]
    parquet = get_lake().list("validated", f"events/day={DAY.isoformat()}/*.parquet")
    assert parquet and get_lake().exists("reports", "data_docs/index.html")
