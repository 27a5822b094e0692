"""The suites in expectations/: complete, loadable by GX, consistent with stage, documented, and
judging the quirks of dataset.md as intended (checked on tiny frames through real GX)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from tasks.analytics.day import EVENT_COLUMNS, MALFORMED
from tasks.entities import SOURCES
from tasks.quality.validate import (
    EXPECTATIONS_DIR,
    load_suite,
    reject_threshold,
    suite_definition,
)
from tasks.settings import get_settings
from tasks.stage.batch import read_batch
from tasks.stage.file_validation import validate_batch
from tasks.stage.parse import iter_records

SEVERITIES = {"critical", "warning", "info"}
TIMESTAMPS_OK = ["2017-11-16 13:20:11.000", "2017-11-16 13:20:11.0000", "2017-11-16",
                 " 2017-11-16 13:20 ", "2016-02-29T23:59:59"]  # fmt: skip
TIMESTAMPS_BAD = ["16/11/2017", "2017-13-01", "2017-11-31", "2017-11-16 24:00:00", "yesterday",
                  "1510838411", "2017-11-16 13:20:11.1234567", ""]  # fmt: skip


def expectations(name: str) -> list[dict]:
    return suite_definition(name)["expectations"]


def columns_of(expectation: dict) -> list[str]:
    kwargs = expectation["kwargs"]
    if "column_list" in kwargs:
        return kwargs["column_list"]
    return [kwargs["column"]] if "column" in kwargs else []


def test_every_source_has_a_suite_and_every_suite_a_source() -> None:
    files = sorted(p.stem for p in EXPECTATIONS_DIR.glob("*.json"))
    assert files == sorted(SOURCES)
    for name in SOURCES:
        assert suite_definition(name)["name"] == name


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_suite_loads_whole_in_great_expectations(name: str) -> None:
    # GX logs and drops an expectation it cannot build: the count says none was dropped
    suite = load_suite(name)
    assert len(suite.expectations) == len(expectations(name))
    assert {e.severity.value for e in suite.expectations} <= SEVERITIES


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_suites_name_stage_columns_and_known_references(name: str) -> None:
    stage_columns = set(SOURCES[name].columns.values())
    if name == "events":  # validated in Spark, on the day's frame: its columns and the line
        stage_columns = set(EVENT_COLUMNS) | {MALFORMED}
    for expectation in expectations(name):
        assert set(columns_of(expectation)) <= stage_columns, expectation
        for value in expectation["kwargs"].values():
            if isinstance(value, dict):
                reference = value["$PARAMETER"]
                assert reference.startswith("ids_of_")
                assert reference.removeprefix("ids_of_") in SOURCES
        if expectation["severity"] == "critical":
            # every flagged row is rejected: a tolerance would only mislead the reader
            assert "mostly" not in expectation["kwargs"], expectation
        assert expectation.get("notes"), f"{name}: say why {expectation['type']}"


def test_readme_lists_every_suite_with_its_threshold() -> None:
    readme = (EXPECTATIONS_DIR / "README.md").read_text(encoding="utf-8")
    listed = dict(re.findall(r"^\| `(\w+)\.json` \| (\d+)% \|", readme, flags=re.MULTILINE))
    assert listed == {name: f"{reject_threshold(name) * 100:.0f}" for name in SOURCES}


def test_thresholds_settings_override_the_suite_which_overrides_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert (reject_threshold("students"), reject_threshold("sessions")) == (0.01, 0.05)
    monkeypatch.setenv("PDBI_REJECT_THRESHOLD", "0.02")
    monkeypatch.setenv("PDBI_REJECT_THRESHOLDS", '{"sessions": 0.2}')
    get_settings.cache_clear()
    assert (reject_threshold("students"), reject_threshold("sessions")) == (0.02, 0.2)


def test_timestamp_pattern_accepts_the_documented_formats_only() -> None:
    (pattern,) = {
        e["kwargs"]["regex"]
        for name in SOURCES
        for e in expectations(name)
        if "regex" in e["kwargs"] and e["kwargs"]["column"].endswith(("_time", "_date", "at"))
    }
    assert [v for v in TIMESTAMPS_OK if not re.search(pattern, v)] == []
    assert [v for v in TIMESTAMPS_BAD if re.search(pattern, v)] == []


def judge(name: str, records: list[dict]) -> tuple[dict[int, list[str]], set[int]]:
    data = io.BytesIO(json.dumps(records).encode())
    verdict = validate_batch(read_batch(SOURCES[name], iter_records(data, name), name), name)
    return verdict.failures, set(verdict.warned)


def test_sessions_reject_what_cannot_become_a_fact() -> None:
    ok = {"StudentId": "s", "SessionStartTime": "2017-11-16 10:00:00.000", "StudentClient": "iOS"}
    records = [
        ok,
        {**ok, "StudentId": None},
        {**ok, "SessionStartTime": "2017-11-16 10:00:00.0000"},
        {**ok, "SessionStartTime": "16/11/2017"},
        {**ok, "StudentClient": "Windows Phone"},
        {k: v for k, v in ok.items() if k != "StudentClient"},  # missing client: 'unknown'
        {**ok, "StudentId": "x" * 65},
    ]
    failures, warned = judge("sessions", records)
    assert failures == {
        2: ["expect_column_values_to_not_be_null(student_id)"],
        4: ["expect_column_values_to_match_regex(session_start_time)"],
        5: ["expect_column_values_to_be_in_set(student_client)"],
        7: ["expect_column_value_lengths_to_be_between(student_id)"],
    }
    assert warned == {6}


def test_students_are_rejected_only_when_they_cannot_be_keyed() -> None:
    good = {"Id": "s1", "RegisteredDate": "2017-01-01", "State": "Bahia", "City": "Salvador",
            "UniversityId": 1, "CourseId": "2", "SignupSource": "Google"}  # fmt: skip
    records = [
        good,
        {**good, "Id": "s2", "RegisteredDate": "soon", "State": "Atlantis", "UniversityId": "x"},
        {**good, "Id": "unknown"},
        {**good, "Id": ""},
    ]
    failures, warned = judge("students", records)
    assert failures == {
        3: ["expect_column_values_to_not_be_in_set(id)"],
        4: ["expect_column_values_to_match_regex(id)"],
    }
    assert warned == {2}


def test_suite_files_are_formatted_json() -> None:
    for path in Path(EXPECTATIONS_DIR).glob("*.json"):
        text = path.read_text(encoding="utf-8")
        assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n", path
