"""Which rows each suite flags, in PostgreSQL: GX's SQL engine on the landing table, and the SQL
split of the critical expectations, on real PostgreSQL (embedded and 127.0.0.1) through the real
stage load. The expected rows and counts are computed here, in plain Python, from the suite's
rules written out by hand and the test's own records."""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from datetime import date
from typing import Any

import psycopg
import pytest
from psycopg import sql

from tasks.entities import ENTITIES, SOURCES
from tasks.quality.validate import label, suite_definition
from tasks.resources import postgres
from tasks.resources.lake import get_lake
from tasks.settings import get_settings
from tasks.stage.load import stage_source

pytestmark = pytest.mark.integration
DAY = date(2017, 11, 16)

# Per stage column: values that pass, values that break something, and None (missing key too).
POOL = {
    "id": ["1", "2", "3", "42", "42", "42.0", " 7 ", "x9", "unknown", "", "  ", " k", "k", "k ",
           "a" * 70, "1234567890", "-5", None],
    "name": ["Cálculo", "Física", "n" * 301, "", " padded ", None],
    "student_id": ["s1", "s2", "s3", "s3", "s" * 65, "", "   ", None],
    "subject_id": ["1", "2", "3", "999", "1.0", "one", "1e3", None],
    "session_start_time": ["2017-11-16 10:00:00", "2017-11-16", "2017-02-30", "bad", "", None],
    "payment_date": ["2017-11-16 10:00:00.0000", "2017-13-01", "16/11/2017", None],
    "follow_date": ["2017-11-16 10:00:00", "2017-11-16T10:00", "16/11/2017", None],
    "registered_date": ["2017-11-16 10:00:00", "yesterday", None],
    "student_client": ["Website", "Webapp", "Android", "iOS", "Foo", "website", None],
    "plan_type": ["Mensal", "Anual", "Weekly", "p" * 101, None],
    "state": ["São Paulo", "Bahia", "Texas", None],
    "city": ["Recife", "c" * 201, " Natal ", None],
    "university_id": ["1", "2", "7", "x", "2.0", None],
    "course_id": ["1", "3", "8", None],
    "signup_source": ["Google", "Orgânico", "TikTok", "s" * 101, None],
}  # fmt: skip
REFERENCES = {"universities": ["1", "2"], "courses": ["1", "3"]}


@pytest.fixture(autouse=True)
def no_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PDBI_REJECT_THRESHOLDS", json.dumps(dict.fromkeys(SOURCES, 1.0)))
    get_settings.cache_clear()


def records_for(name: str, n: int, seed: int) -> list[dict]:
    """n records; a stretch of them with every key missing, and keys dropped at random."""
    rng = random.Random(seed)
    entity = ENTITIES[name]
    records = []
    for row in range(1, n + 1):
        record = {}
        for key, column in entity.columns.items():
            value = rng.choice(POOL.get(column, ["v", None]))
            if not 20 <= row < 30 and rng.random() > 0.1:
                record[key] = value
        records.append(record)
    return records


def like(pattern: str, value: str) -> bool:
    parts = ("." if c == "_" else ".*" if c == "%" else re.escape(c) for c in pattern)
    return re.fullmatch("".join(parts), value, flags=re.DOTALL) is not None


def to_int(raw: str | None) -> int | None:
    """meta.to_int_or_null, written out."""
    if raw is None:
        return None
    text = raw.strip(" ")
    if re.fullmatch(r"[0-9]{1,9}", text) or re.fullmatch(r"-?[0-9]{1,9}(\.0*)?", text):
        return int(text.split(".")[0])
    return None


def flags(expectation: dict, values: list[str | None], given: dict) -> list[bool] | int:
    """Per row, whether the expectation flags it (row-level kinds), or the count it reports."""
    kind, kw = expectation["type"], expectation["kwargs"]
    value_set = kw.get("value_set")
    if isinstance(value_set, dict):
        value_set = given[value_set["$PARAMETER"]]
    rules = {
        "expect_column_values_to_not_be_null": lambda v: v is None,
        "expect_column_values_to_match_regex": lambda v: (
            v is not None and not re.search(kw.get("regex", ""), v)
        ),
        "expect_column_values_to_not_match_regex": lambda v: (
            v is not None and bool(re.search(kw.get("regex", ""), v))
        ),
        "expect_column_values_to_be_in_set": lambda v: v is not None and v not in value_set,
        "expect_column_values_to_not_be_in_set": lambda v: v is not None and v in value_set,
        "expect_column_value_lengths_to_be_between": lambda v: (
            v is not None and not (kw.get("min_value", 0) <= len(v) <= kw.get("max_value", 10**9))
        ),
        "expect_column_values_to_match_like_pattern_list": lambda v: (
            v is not None and not any(like(p, v) for p in kw.get("like_pattern_list", []))
        ),
    }
    if kind in rules:
        return [rules[kind](v) for v in values]
    if kind == "expect_column_values_to_be_unique":
        seen = Counter(v for v in values if v is not None)
        return sum(1 for v in values if v is not None and seen[v] > 1)
    if kind == "unexpected_rows_expectation":  # the lookups' ids compared as integers
        ints = [to_int(v) for v in values]
        seen = Counter(i for i in ints if i is not None)
        return sum(1 for i in ints if i is not None and seen[i] > 1)
    raise AssertionError(f"no rule written out for {kind}")


def expected(name: str, records: list[dict], given: dict) -> tuple[dict, dict]:
    """(source row -> critical expectations failed, expectation -> rows flagged)."""
    entity = ENTITIES[name]
    columns = {c: [r.get(k) for r in records] for k, c in entity.columns.items()}
    failures: dict[int, list[str]] = {}
    counts: dict[str, int] = {}
    for expectation in suite_definition(name)["expectations"]:
        if expectation["type"] == "expect_table_row_count_to_be_between":
            continue
        what = label(expectation["type"], expectation["kwargs"])
        column = expectation["kwargs"].get("column", "id")
        found = flags(expectation, columns[column], given)
        if isinstance(found, int):
            counts[what] = found
            continue
        counts[what] = sum(found)
        if expectation["severity"] == "critical":
            for row, flagged in enumerate(found, start=1):
                if flagged:
                    failures.setdefault(row, []).append(what)
    return failures, counts


def put(name: str, records: list) -> None:
    with get_lake().open("transactional", f"{DAY.isoformat()}/{name}.json", "wb") as out:
        out.write(json.dumps(records, ensure_ascii=False, indent=1).encode())


@pytest.mark.parametrize("name", sorted(ENTITIES))
def test_each_suite_flags_exactly_the_rows_its_rules_define(
    migrated: psycopg.Connection, name: str
) -> None:
    for source, ids in REFERENCES.items():
        put(source, [{"Id": i, "Name": f"n{i}"} for i in ids])
    records = records_for(name, 300, seed=len(name))
    put(name, records)
    (load,) = stage_source(ENTITIES[name], DAY, "load-1")
    given = {f"ids_of_{source}": ids for source, ids in REFERENCES.items()}
    failures, counts = expected(name, records, given)
    # GX's counts, every expectation of the suite, warnings too
    assert {k: v for k, v in load.verdict.unexpected.items()} == counts
    # the split: exactly the rows the critical rules flag, each with every rule it failed
    rejected = postgres.fetch_all(
        migrated, "select source_row, failed_expectations from meta.rejected_rows order by 1"
    )
    assert dict(rejected) == failures
    assert failures, "the pool breaks a critical expectation"
    # and both counted the same rows per critical expectation (the load checks it too)
    split = Counter(what for found in failures.values() for what in found)
    assert {what: load.verdict.unexpected[what] for what in split} == dict(split)
    staged = postgres.fetch_all(
        migrated,
        sql.SQL("select source_row from {} order by 1").format(sql.Identifier("stage", name)),
    )
    assert [r for (r,) in staged] == [r for r in range(1, 301) if r not in failures]


def test_a_split_that_disagrees_with_gx_fails_the_load(
    migrated: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should tasks/quality/split.py ever say something else than GX, nothing is committed."""
    import tasks.stage.load as load_module
    from tasks.quality import split

    def drifted(name: str, given: dict | None = None) -> list[split.Rule]:
        rules = split.critical_rules(name, given)
        first = rules[0]
        return [split.Rule(first.label, split.sql.SQL("false"), {}), *rules[1:]]

    monkeypatch.setattr(load_module, "critical_rules", drifted)
    put("students", [{"Id": "a"}, {"City": "Natal"}])
    with pytest.raises(RuntimeError, match=r"the SQL split and Great Expectations count"):
        stage_source(ENTITIES["students"], DAY, "load-1")
    assert postgres.fetch_all(migrated, "select count(*) from stage.students") == [(0,)]


def judge(migrated: psycopg.Connection, name: str, records: list[dict]) -> dict[int, list[str]]:
    put(name, records)
    stage_source(ENTITIES[name], DAY, f"load-{name}")
    migrated.rollback()
    return dict(
        postgres.fetch_all(
            migrated,
            "select source_row, failed_expectations from meta.rejected_rows"
            " where entity = %s order by 1",
            (name,),
        )
    )


def test_sessions_reject_only_what_has_no_student(migrated: psycopg.Connection) -> None:
    ok = {"StudentId": "s", "SessionStartTime": "2017-11-16 10:00:00.000", "StudentClient": "iOS"}
    records: list[dict[str, Any]] = [
        ok,
        {**ok, "StudentId": None},
        {**ok, "SessionStartTime": "2017-11-16 10:00:00.0000"},
        {**ok, "SessionStartTime": "16/11/2017"},  # loaded: the unknown date
        {k: v for k, v in ok.items() if k != "SessionStartTime"},  # loaded: the unknown date
        {**ok, "StudentClient": "Windows Phone"},
        {k: v for k, v in ok.items() if k != "StudentClient"},  # missing client: 'unknown'
        {**ok, "StudentId": "x" * 65},
        {**ok, "StudentId": "  "},
    ]
    assert judge(migrated, "sessions", records) == {
        2: ["expect_column_values_to_not_be_null(student_id)"],
        6: ["expect_column_values_to_be_in_set(student_client)"],
        8: ["expect_column_value_lengths_to_be_between(student_id)"],
        9: ["expect_column_values_to_match_regex(student_id)"],
    }


def test_students_are_rejected_only_when_they_cannot_be_keyed(
    migrated: psycopg.Connection,
) -> None:
    good = {"Id": "s1", "RegisteredDate": "2017-01-01", "State": "Bahia", "City": "Salvador",
            "UniversityId": 1, "CourseId": "2", "SignupSource": "Google"}  # fmt: skip
    records = [
        good,
        {**good, "Id": "s2", "RegisteredDate": "soon", "State": "Atlantis", "UniversityId": "x"},
        {**good, "Id": "unknown"},
        {**good, "Id": ""},
        {**good, "Id": " s5 "},  # loaded as written, reported
    ]
    assert judge(migrated, "students", records) == {
        3: ["expect_column_values_to_not_be_in_set(id)"],
        4: ["expect_column_values_to_match_regex(id)"],
    }
    staged = postgres.fetch_all(migrated, "select id from stage.students order by source_row")
    assert staged == [("s1",), ("s2",), (" s5 ",)]
