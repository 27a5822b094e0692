"""Bad input, file by file, on real PostgreSQL (embedded and 127.0.0.1), GX and a lake on disk.

Every test writes a file whose bad rows it labels itself, loads it with `stage_source`, and
checks the exact accounting: rows read = loaded + rejected, which rows were rejected and why,
and that every valid row reached stage byte for byte.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from typing import Any

import psycopg
import pytest
from psycopg import sql

from tasks.entities import SOURCES
from tasks.errors import DataError
from tasks.resources import postgres
from tasks.resources.lake import get_lake
from tasks.settings import get_settings
from tasks.stage.load import stage_source

pytestmark = pytest.mark.integration
DAY = date(2017, 11, 16)
BOM = b"\xef\xbb\xbf"


@pytest.fixture(autouse=True)
def no_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    """Row-level behaviour only: no file fails for its share of rejects here (see
    test_stage_validation.py for the thresholds)."""
    monkeypatch.setenv("PDBI_REJECT_THRESHOLDS", json.dumps(dict.fromkeys(SOURCES, 1.0)))
    get_settings.cache_clear()


def put(name: str, data: bytes, zone: str = "transactional") -> None:
    with get_lake().open(zone, f"{DAY.isoformat()}/{name}", "wb") as out:
        out.write(data)


def put_array(name: str, records: list[Any]) -> None:
    put(f"{name}.json", json.dumps(records, ensure_ascii=False, indent=1).encode())


def stage(name: str, load_id: str = "load-1") -> list:
    return stage_source(SOURCES[name], DAY, load_id)


def rows(conn: psycopg.Connection, name: str, columns: str) -> list[tuple]:
    query = sql.SQL("select {} from {} order by source_file, source_row").format(
        sql.SQL(columns), sql.Identifier("stage", name)
    )
    return postgres.fetch_all(conn, query)


def rejects(conn: psycopg.Connection, load_id: str = "load-1") -> list[tuple]:
    return postgres.fetch_all(
        conn,
        "select source_row, failed_expectations, record from meta.rejected_rows"
        " where load_id = %s order by source_file, source_row",
        (load_id,),
    )


def counts(conn: psycopg.Connection, load_id: str = "load-1") -> list[tuple]:
    return postgres.fetch_all(
        conn,
        "select source_file, rows_read, rows_loaded, rows_rejected from meta.load_counts"
        " where load_id = %s order by source_file",
        (load_id,),
    )


def quarantined() -> list[dict]:
    lake = get_lake()
    found = lake.list("quarantine", f"{DAY.isoformat()}/*.jsonl")
    lines = [line for name in found for line in lake.read_bytes("quarantine", name).splitlines()]
    return [json.loads(line) for line in lines]


def test_malformed_json_fails_the_file_with_its_line_and_leaves_stage(
    migrated: psycopg.Connection,
) -> None:
    put_array("courses", [{"Id": 1, "Name": "Direito"}])
    stage("courses")
    put("courses.json", b'[\n{"Id": 2, "Name": "A"},\n{"Id": 3 "Name": "B"}\n]\n')
    with pytest.raises(DataError, match=r"transactional/2017-11-16/courses.json: .* line 3"):
        stage("courses", "load-2")
    assert rows(migrated, "courses", "id, name, load_id") == [("1", "Direito", "load-1")]
    assert counts(migrated, "load-2") == []


@pytest.mark.parametrize("cut", [40, -3])  # every cut: tests/unit/test_parse.py
def test_truncated_file_fails_naming_the_file_and_leaves_stage(
    migrated: psycopg.Connection, cut: int
) -> None:
    records = [{"Id": i, "Name": f"Curso {i}"} for i in range(1, 4)]
    put_array("courses", records)
    stage("courses")
    whole = json.dumps(records, indent=1).encode()
    put("courses.json", whole[:cut])
    with pytest.raises(DataError, match=r"courses.json: not a valid JSON array .*truncated"):
        stage("courses", "load-2")
    assert [r[0] for r in rows(migrated, "courses", "id")] == ["1", "2", "3"]


def test_empty_file_fails_an_array_source(migrated: psycopg.Connection) -> None:
    # (an empty part file of events: tests/integration/test_events_validation.py)
    put("courses.json", b"")
    with pytest.raises(DataError, match=r"courses.json: the file is empty"):
        stage("courses")


def test_empty_array_empties_stage_and_counts_zero(migrated: psycopg.Connection) -> None:
    put_array("courses", [{"Id": 1, "Name": "Direito"}])
    stage("courses")
    put("courses.json", b"[ ]")
    (load,) = stage("courses", "load-2")
    assert rows(migrated, "courses", "id") == []
    assert counts(migrated, "load-2") == [("transactional/2017-11-16/courses.json", 0, 0, 0)]
    # the suite says an empty export is worth a look (a warning), not a failure
    assert not load.verdict.success


def test_wrong_types_numbers_as_strings_and_strings_as_numbers(
    migrated: psycopg.Connection,
) -> None:
    sessions = [
        {"StudentId": "s1", "SessionStartTime": "2017-11-16 13:20:11.000", "StudentClient": "iOS"},
        {"StudentId": 12345, "SessionStartTime": "2017-11-16", "StudentClient": "Website"},
        {"StudentId": "s3", "SessionStartTime": 1510838411, "StudentClient": "Webapp"},
        {"StudentId": "s4", "SessionStartTime": "2017-11-16 13:20:11.0000", "StudentClient": 7},
    ]
    put_array("sessions", sessions)
    stage("sessions")
    # numbers become their JSON text. A number where the start time belongs is loaded and warned
    # (a session is rejected only when it has no student); a client outside the four is not one
    assert rows(migrated, "sessions", "student_id, session_start_time, student_client") == [
        ("s1", "2017-11-16 13:20:11.000", "iOS"),
        ("12345", "2017-11-16", "Website"),
        ("s3", "1510838411", "Webapp"),
    ]
    assert [(r[0], r[1]) for r in rejects(migrated)] == [
        (4, ["expect_column_values_to_be_in_set(student_client)"]),
    ]
    put_array("universities", [{"Id": "7", "Name": 42}, {"Id": 8.0, "Name": "UFRJ"}, {"Id": "x"}])
    stage("universities")
    # 8.0 is kept as the number was written (the merge reads it as the id 8)
    assert rows(migrated, "universities", "id, name") == [("7", "42"), ("8.0", "UFRJ")]
    assert [(r[0], r[1]) for r in rejects(migrated)][1:] == [
        (3, ["expect_column_values_to_match_regex(id)"])
    ]


def test_missing_keys_and_nulls_reject_only_unusable_rows(migrated: psycopg.Connection) -> None:
    students = [
        {"Id": "a", "State": "Bahia", "City": "Salvador"},
        {"State": "Bahia"},  # no Id: cannot be keyed
        {"Id": None, "City": "Recife"},  # null Id: the same
        {"Id": "d", "City": None, "UniversityId": None},  # missing attributes: loaded
        {"Id": "   "},  # blanks are no Id
    ]
    put_array("students", students)
    stage("students")
    assert rows(migrated, "students", "id, state, city, university_id") == [
        ("a", "Bahia", "Salvador", None),
        ("d", None, None, None),
    ]
    assert [(r[0], r[1]) for r in rejects(migrated)] == [
        (2, ["expect_column_values_to_not_be_null(id)"]),
        (3, ["expect_column_values_to_not_be_null(id)"]),
        (5, ["expect_column_values_to_match_regex(id)"]),
    ]
    assert [r[2] for r in rejects(migrated)] == [students[1], students[2], students[4]]
    assert counts(migrated) == [("transactional/2017-11-16/students.json", 5, 2, 3)]


def test_duplicate_business_keys_load_and_are_reported(migrated: psycopg.Connection) -> None:
    students = [{"Id": "a", "City": "Natal"}, {"Id": "b"}, {"Id": "a", "City": "Recife"}]
    put_array("students", students)
    (load,) = stage("students")
    assert rows(migrated, "students", "id, city") == [("a", "Natal"), ("b", None), ("a", "Recife")]
    assert rejects(migrated) == []
    (unique,) = [
        r["result"]
        for r in load.verdict.result["results"]
        if r["expectation_config"]["type"] == "expect_column_values_to_be_unique"
    ]
    assert unique["unexpected_count"] == 2  # rows 1 and 3
    assert load.verdict.unexpected["expect_column_values_to_be_unique(id)"] == 2
    assert postgres.fetch_all(
        migrated,
        "select unexpected_count, success from meta.validation_expectations"
        " where load_id = 'load-1' and expectation_type = 'expect_column_values_to_be_unique'",
    ) == [(2, False)]


def test_accents_emoji_and_special_characters_arrive_exactly(
    migrated: psycopg.Connection,
) -> None:
    names = [
        "Administração 📚",
        "line\nbreak",
        "tab\there",
        "quote \" and ' apostrophe",
        "back\\slash \\N \\. ,comma",
        "\\.",
        "",
        "Robert'); drop table stage.courses; --",
        "x" * 300,
    ]
    put_array("courses", [{"Id": i, "Name": n} for i, n in enumerate(names, start=1)])
    stage("courses")
    assert [r[0] for r in rows(migrated, "courses", "name")] == names
    assert rejects(migrated) == []


def test_nul_bytes_are_rejected_with_a_reason_and_kept_exact_in_quarantine(
    migrated: psycopg.Connection,
) -> None:
    records = [{"Id": 1, "Name": "ok"}, {"Id": 2, "Name": "nul \u0000 byte"}, {"Id": 3}]
    put_array("courses", records)
    stage("courses")
    assert rows(migrated, "courses", "id") == [("1",), ("3",)]
    (reject,) = rejects(migrated)
    assert reject[:2] == (2, ["value_has_no_nul_byte(name)"])
    assert reject[2] == {"Id": 2, "Name": "nul \\u0000 byte"}  # jsonb holds no NUL: its escape
    (line,) = quarantined()
    assert line["record"] == records[1]  # the lake keeps the exact value
    assert line["failed_expectations"] == ["value_has_no_nul_byte(name)"]


def test_very_long_strings_are_rejected_where_the_suite_bounds_them(
    migrated: psycopg.Connection,
) -> None:
    long_name = "Engenharia " * 10_000
    put_array("courses", [{"Id": 1, "Name": long_name}, {"Id": 2, "Name": "y" * 300}])
    put_array("students", [{"Id": "a", "City": "z" * 50_000}])
    stage("courses")
    stage("students", "load-2")
    assert rows(migrated, "courses", "id") == [("2",)]
    assert [(r[0], r[1]) for r in rejects(migrated)] == [
        (1, ["expect_column_value_lengths_to_be_between(name)"])
    ]
    # a student is never rejected for an attribute (that would delete them): warned, loaded
    assert rows(migrated, "students", "length(city)") == [(50_000,)]


def test_bom_files_load_like_any_other(migrated: psycopg.Connection) -> None:
    put("courses.json", BOM + json.dumps([{"Id": 1, "Name": "Pedagogia"}]).encode())
    stage("courses")
    assert rows(migrated, "courses", "name") == [("Pedagogia",)]


def test_latin1_file_is_refused_not_garbled(migrated: psycopg.Connection) -> None:
    put_array("courses", [{"Id": 1, "Name": "Direito"}])
    stage("courses")
    data = '[{"Id": 2, "Name": "Administração"}]'.encode("latin-1")
    put("courses.json", data)
    offset = data.index("ç".encode("latin-1"))
    with pytest.raises(DataError, match=rf"courses.json: not UTF-8 at .*\(byte {offset}\)"):
        stage("courses", "load-2")
    assert rows(migrated, "courses", "name") == [("Direito",)]


def test_non_objects_and_lone_surrogates_are_rejected_as_rows(
    migrated: psycopg.Connection,
) -> None:
    put("courses.json", b'[{"Id": 1, "Name": "a"}, 42, ["x"], {"Id": 4, "Name": "n\\u0000"}]')
    stage("courses")
    assert rows(migrated, "courses", "id") == [("1",)]
    assert [(r[0], r[1]) for r in rejects(migrated)] == [
        (2, ["record_is_a_json_object"]),
        (3, ["record_is_a_json_object"]),
        (4, ["value_has_no_nul_byte(name)"]),
    ]
    assert counts(migrated) == [("transactional/2017-11-16/courses.json", 4, 1, 3)]
    # a lone UTF-16 surrogate escape (no UTF-8 text can hold it): a row of JSON Lines (the
    # events are read by Spark, so the courses exported as lines stand in for them here)...
    migrated.rollback()  # this test's reads hold a lock on stage.courses: the load truncates it
    put("courses.json", b'{"Id": 5, "Name": "ok"}\n{"Id": 6, "Name": "\\ud800"}\n')
    stage_source(replace(SOURCES["courses"], layout="lines"), DAY, "load-2")
    assert [(r[0], r[1]) for r in rejects(migrated, "load-2")] == [
        (2, ["value_is_valid_unicode(Name)"])  # the key as exported
    ]
    assert rows(migrated, "courses", "id") == [("5",)]
    # ...but in a JSON array, which DuckDB reads as a whole, the file, named with line and byte
    migrated.rollback()  # this test's reads hold a lock on stage.courses: the load truncates it
    put("courses.json", b'[{"Id": 1, "Name": "a"},\n{"Id": 4, "Name": "\\ud800"}]')
    with pytest.raises(DataError, match=r"courses.json: .*lone UTF-16 surrogate.* line 2, .*"):
        stage("courses", "load-3")
    assert rows(migrated, "courses", "id") == [("5",)]
