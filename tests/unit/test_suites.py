"""The suites in expectations/: complete, loadable by GX, consistent with stage, documented, and
splittable in SQL. How they judge the quirks of dataset.md, in PostgreSQL through real GX:
tests/integration/test_suites_in_database.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tasks.analytics.day import EVENT_COLUMNS, MALFORMED
from tasks.entities import ENTITIES, SOURCES
from tasks.errors import ConfigError
from tasks.quality.split import critical_rules
from tasks.quality.validate import (
    EXPECTATIONS_DIR,
    label,
    load_suite,
    reject_threshold,
    suite_definition,
)
from tasks.settings import get_settings

SEVERITIES = {"critical", "warning", "info"}
TIMESTAMPS_OK = ["2017-11-16 13:20:11.000", "2017-11-16 13:20:11.0000", "2017-11-16",
                 "2017-11-16 13:20", "2016-02-29T23:59:59",
                 "2017-11-16T13:20:11.123456"]  # fmt: skip
TIMESTAMPS_BAD = ["16/11/2017", "2017/11/16", "yesterday", "1510838411", "", "2017-11-16 13",
                  "17-11-16 13:20:11", "2017-11-16 13:20:11.", "Nov 16 2017"]  # fmt: skip


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


def like(pattern: str, value: str) -> bool:
    """SQL LIKE, in Python: '_' one character, '%' any run of them."""
    parts = ("." if c == "_" else ".*" if c == "%" else re.escape(c) for c in pattern)
    return re.fullmatch("".join(parts), value, flags=re.DOTALL) is not None


def test_timestamp_shapes_accept_the_documented_formats_only() -> None:
    """The suites check a timestamp's shape (PostgreSQL reads LIKE patterns about ten times
    faster than a regular expression); whether the shape names a real moment is the merge's
    meta.to_timestamp_or_null (tests/integration/test_warehouse_sql.py)."""
    (patterns,) = {
        tuple(e["kwargs"]["like_pattern_list"])
        for name in ENTITIES
        for e in expectations(name)
        if e["type"] == "expect_column_values_to_match_like_pattern_list"
    }
    assert [v for v in TIMESTAMPS_OK if not any(like(p, v) for p in patterns)] == []
    assert [v for v in TIMESTAMPS_BAD if any(like(p, v) for p in patterns)] == []


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_critical_expectations_can_split_rows_in_sql(name: str) -> None:
    rules = critical_rules(name, {})
    critical = [e for e in expectations(name) if e["severity"] == "critical"]
    assert [r.label for r in rules] == [label(e["type"], e["kwargs"]) for e in critical]


def test_a_critical_expectation_that_cannot_reject_rows_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import tasks.quality.split as split

    suite = [dict(e) for e in expectations("students")]
    for e in suite:
        if e["type"] == "expect_column_values_to_be_unique":
            e["severity"] = "critical"
    monkeypatch.setattr(split, "expectations_for", lambda name, given=None: suite)
    with pytest.raises(ConfigError, match=r"students\.json: .*to_be_unique\(id\) is critical"):
        split.critical_rules("students", {})


def test_suite_files_are_formatted_json() -> None:
    for path in Path(EXPECTATIONS_DIR).glob("*.json"):
        text = path.read_text(encoding="utf-8")
        assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n", path
