"""Validated stage loads on real PostgreSQL (embedded and 127.0.0.1), GX, a lake on disk and, for
the flow, a real Prefect API: thresholds, quarantine, reconciliation, summaries, Data Docs."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date

import psycopg
import pytest

from flows.stage import load_stage
from tasks.entities import ENTITIES, SOURCES
from tasks.errors import DataError
from tasks.generator.day import generate
from tasks.quality.reports import publish_data_docs
from tasks.quality.validate import parameters_of, suite_definition
from tasks.resources import postgres
from tasks.resources.lake import get_lake
from tasks.stage.load import LoadCounts, reconcile, stage_source

pytestmark = pytest.mark.integration
DAY = date(2017, 11, 16)


@pytest.fixture(scope="module")
def prefect_api() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


def put(name: str, records: list, zone: str = "transactional", lines: bool = False) -> None:
    if lines:
        data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()
    else:
        data = json.dumps(records, ensure_ascii=False).encode()
    with get_lake().open(zone, f"{DAY.isoformat()}/{name}", "wb") as out:
        out.write(data)


def students(n: int, without_id: set[int] = frozenset()) -> list[dict]:
    """n students; the rows (from 1) in `without_id` lack their Id, the only critical defect."""
    return [
        {"City": "Natal"} if i in without_id else {"Id": f"s{i}", "City": "Natal"}
        for i in range(1, n + 1)
    ]


def allow(monkeypatch: pytest.MonkeyPatch, **thresholds: float) -> None:
    from tasks.settings import get_settings

    monkeypatch.setenv("PDBI_REJECT_THRESHOLDS", json.dumps(thresholds))
    get_settings.cache_clear()


def fetch(conn: psycopg.Connection, query: str, *params: object) -> list[tuple]:
    return postgres.fetch_all(conn, query, params or None)


def test_below_threshold_valid_rows_load_and_rejects_are_quarantined(
    migrated: psycopg.Connection,
) -> None:
    put("students.json", students(200, {77}))  # 0.5% < 1%
    (load,) = stage_source(SOURCES["students"], DAY, "load-1")
    loaded = [f"s{i}" for i in range(1, 201) if i != 77]
    assert [
        r[0] for r in fetch(migrated, "select id from stage.students order by source_row")
    ] == loaded
    assert fetch(migrated, "select source_row, failed_expectations from meta.rejected_rows") == [
        (77, ["expect_column_values_to_not_be_null(id)"])
    ]
    assert fetch(
        migrated, "select rows_read, rows_loaded, rows_rejected from meta.load_counts"
    ) == [(200, 199, 1)]
    (line,) = get_lake().read_bytes("quarantine", "2017-11-16/students.jsonl").splitlines()
    assert json.loads(line) == {
        "source_file": "transactional/2017-11-16/students.json",
        "source_row": 77,
        "load_id": "load-1",
        "failed_expectations": ["expect_column_values_to_not_be_null(id)"],
        "record": {"City": "Natal"},
    }
    assert load.threshold == 0.01


def test_above_threshold_fails_naming_file_counts_and_expectations_and_keeps_stage(
    migrated: psycopg.Connection,
) -> None:
    put("students.json", students(10))
    stage_source(SOURCES["students"], DAY, "load-1")
    put("students.json", students(100, {5, 50, 95}))  # 3% > 1%
    message = (
        r"transactional/2017-11-16/students.json: 3 of 100 rows \(3.00%\) failed the students "
        r"suite, above its 1.00% reject threshold, so stage.students was left as it was. Top "
        r"failing expectations: expect_column_values_to_not_be_null\(id\) \(3 rows\)\. The "
        r"rejected rows are in quarantine/2017-11-16/students.jsonl of the lake\."
    )
    with pytest.raises(DataError, match=message):
        stage_source(SOURCES["students"], DAY, "load-2")
    assert [r[0] for r in fetch(migrated, "select load_id from stage.students")] == ["load-1"] * 10
    assert fetch(migrated, "select load_id from meta.load_counts") == [("load-1",)]
    assert fetch(migrated, "select count(*) from meta.rejected_rows") == [(0,)]
    assert fetch(
        migrated,
        "select status, success, rows_evaluated, rows_rejected, reject_ratio, threshold"
        " from meta.validation_results where load_id = 'load-2'",
    ) == [("failed", False, 100, 3, 0.03, 0.01)]
    lines = get_lake().read_bytes("quarantine", "2017-11-16/students.jsonl").splitlines()
    assert [json.loads(line)["source_row"] for line in lines] == [5, 50, 95]


def test_threshold_overrides_come_from_the_settings(
    migrated: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    allow(monkeypatch, students=0.05)
    put("students.json", students(100, {5, 50, 95}))
    (load,) = stage_source(SOURCES["students"], DAY, "load-1")
    assert (load.counts.rows_loaded, load.counts.rows_rejected, load.threshold) == (97, 3, 0.05)


def test_a_student_of_an_unknown_university_loads_and_is_reported(
    migrated: psycopg.Connection,
) -> None:
    put("universities.json", [{"Id": 1, "Name": "UFRJ"}, {"Id": "2", "Name": "USP"}])
    students = [
        {"Id": "s1", "UniversityId": 1},
        {"Id": "s2", "UniversityId": "2"},
        {"Id": "s3", "UniversityId": 99},
    ]
    put("students.json", students)
    (load,) = stage_source(SOURCES["students"], DAY, "load-1")
    assert load.counts.rows_loaded == 3
    assert load.verdict.unexpected["expect_column_values_to_be_in_set(university_id)"] == 1
    # the stored result names the parameter, not the day's ids
    kwargs = [
        k
        for (k,) in fetch(
            migrated,
            "select r -> 'expectation_config' -> 'kwargs' from meta.validation_results,"
            " jsonb_array_elements(result -> 'results') as r"
            " where r -> 'expectation_config' ->> 'type' = 'expect_column_values_to_be_in_set'",
        )
        if k["column"] == "university_id"
    ]
    assert [k["value_set"] for k in kwargs] == [{"$PARAMETER": "ids_of_universities"}]


def test_a_count_mismatch_fails_the_load(migrated: psycopg.Connection) -> None:
    put("courses.json", [{"Id": 1, "Name": "Direito"}, {"Id": 2, "Name": "Letras"}])
    stage_source(SOURCES["courses"], DAY, "load-1")
    source = "transactional/2017-11-16/courses.json"
    reconcile(migrated, SOURCES["courses"], LoadCounts("courses", source, 2, 2, 0), "load-1")
    wrong = LoadCounts("courses", source, 3, 3, 0)
    with pytest.raises(DataError, match=r"courses.json: 3 rows read but the warehouse holds 2"):
        reconcile(migrated, SOURCES["courses"], wrong, "load-1")
    with pytest.raises(psycopg.errors.CheckViolation):
        migrated.execute(
            "insert into meta.load_counts values ('x', %s, 'courses', 'f', 3, 2, 0)", (DAY,)
        )


def test_validation_summaries_are_stored_for_the_dashboard(migrated: psycopg.Connection) -> None:
    put("students.json", students(200, {7, 9}))
    stage_source(SOURCES["students"], DAY, "load-1")
    (summary,) = fetch(
        migrated,
        "select suite, status, success, evaluated_expectations, rows_evaluated,"
        " rows_unexpected, rows_rejected, reject_ratio, threshold from meta.validation_results",
    )
    # every row lacks RegisteredDate, State...: all 200 are flagged by a warning, 2 rejected;
    # the checks against the day's universities and courses are left out (no such files)
    evaluated = [e for e in suite_definition("students")["expectations"] if not parameters_of(e)]
    assert summary == ("students", "loaded", False, len(evaluated), 200, 200, 2, 0.01, 0.01)
    per_expectation = dict(
        fetch(
            migrated,
            "select expectation_type || '(' || columns || ')', unexpected_count"
            " from meta.validation_expectations where severity = 'critical'",
        )
    )
    assert per_expectation["expect_column_values_to_not_be_null(id)"] == 2


def test_data_docs_open_from_the_lake(migrated: psycopg.Connection) -> None:
    put("courses.json", [{"Id": 1, "Name": "Direito"}])
    stage_source(SOURCES["courses"], DAY, "load-1")
    put("students.json", students(10, {1, 2}))
    with pytest.raises(DataError):
        stage_source(SOURCES["students"], DAY, "load-1")
    assert publish_data_docs(DAY) == "reports/data_docs/index.html"
    lake = get_lake()
    index = lake.read_bytes("reports", "data_docs/index.html").decode()
    pages = sorted(set(re.findall(r"""["'](validations/[^"']+\.html)["']""", index)))
    assert [p.split("/")[1:3] for p in pages] == [["courses", "load-1"], ["students", "load-1"]]
    for page in pages:  # the failed validation too, with its failing expectation
        html = lake.read_bytes("reports", f"data_docs/{page}").decode()
        assert "Overview" in html and "values must never be null" in html
    assert lake.exists("reports", "data_docs/expectations/students.html")
    # the next day renders its own pages; the index still links the first day's
    next_day = date(2017, 11, 17)
    with lake.open("transactional", "2017-11-17/courses.json", "wb") as out:
        out.write(b'[{"Id": 1, "Name": "Direito"}]')
    stage_source(SOURCES["courses"], next_day, "load-2")
    publish_data_docs(next_day)
    index = lake.read_bytes("reports", "data_docs/index.html").decode()
    later = sorted(set(re.findall(r"""["'](validations/[^"']+\.html)["']""", index)))
    assert [p.split("/")[1:3] for p in later] == [
        ["courses", "load-1"],
        ["courses", "load-2"],
        ["students", "load-1"],
    ]
    for page in later:  # the first day's pages were not replaced by the second day's build
        assert "Overview" in lake.read_bytes("reports", f"data_docs/{page}").decode()


@pytest.mark.usefixtures("prefect_api")
def test_stage_flow_loads_the_others_when_one_source_fails(
    migrated: psycopg.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    written = generate(get_lake(), scale=0.002, seed=3, run_date=DAY)
    with get_lake().open("transactional", "2017-11-16/courses.json", "wb") as out:
        out.write(b'[{"Id": 1, "Name": "Dire')  # truncated
    with pytest.raises(DataError, match=r"1 of 7 stage loads failed.*courses.json: not a valid"):
        load_stage(DAY, "load-1")
    read = dict(fetch(migrated, "select entity, sum(rows_read) from meta.load_counts group by 1"))
    expected = {name: written[f"{name}.json"] for name in ENTITIES if name != "courses"}
    assert read == expected  # the events are not staged: the Spark job validates them
    assert any(
        "quarantined in quarantine/2017-11-16/sessions.jsonl" in r.getMessage()
        for r in caplog.records
        if r.levelname == "WARNING"
    )
    assert fetch(migrated, "select count(*) from stage.courses") == [(0,)]
    assert get_lake().exists("reports", "data_docs/index.html")


def chunks_of(monkeypatch: pytest.MonkeyPatch, rows: int) -> None:
    from tasks.settings import get_settings

    monkeypatch.setenv("PDBI_STAGE_CHUNK_ROWS", str(rows))
    get_settings.cache_clear()


def test_a_file_larger_than_a_chunk_loads_as_if_whole(
    migrated: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rejects in several chunks, a duplicate across chunks (a warning), one transaction."""
    chunks_of(monkeypatch, 7)
    allow(monkeypatch, students=0.05)
    records = students(60, {3, 30})
    records[49] = {"Id": "s4", "City": "Natal"}  # row 50 repeats row 4's id, six chunks later
    put("students.json", records)
    (load,) = stage_source(SOURCES["students"], DAY, "load-1")
    expected = [(r["Id"], i) for i, r in enumerate(records, 1) if "Id" in r]
    assert fetch(migrated, "select id, source_row from stage.students order by 2") == expected
    assert fetch(migrated, "select source_row from meta.rejected_rows order by 1") == [(3,), (30,)]
    ids = [r["Id"] for r in records if "Id" in r]
    duplicated = sum(1 for i in ids if ids.count(i) > 1)
    assert load.verdict.unexpected["expect_column_values_to_be_unique(id)"] == duplicated == 2
    assert load.verdict.unexpected["expect_column_values_to_not_be_null(id)"] == 2
    assert load.counts == LoadCounts("students", load.counts.source_file, 60, 58, 2)
    (result,) = fetch(migrated, "select result from meta.validation_results")
    by_type = {r["expectation_config"]["type"]: r["result"] for r in result[0]["results"]}
    assert by_type["expect_table_row_count_to_be_between"]["observed_value"] == len(records)


def test_a_failing_chunk_leaves_stage_as_it_was(
    migrated: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first chunks were copied before the last one broke the threshold: all roll back."""
    put("students.json", students(10))
    stage_source(SOURCES["students"], DAY, "load-1")
    chunks_of(monkeypatch, 10)
    put("students.json", students(100, {95, 96, 97}))
    with pytest.raises(DataError, match=r"3 of 100 rows"):
        stage_source(SOURCES["students"], DAY, "load-2")
    assert [r[0] for r in fetch(migrated, "select load_id from stage.students")] == ["load-1"] * 10
    assert fetch(migrated, "select count(*) from meta.rejected_rows") == [(0,)]
