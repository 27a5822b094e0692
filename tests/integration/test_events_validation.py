"""The events suite where the events are analysed: real local Spark, GX's Spark engine, and the
warehouse's meta tables on real PostgreSQL. Expected values come from the test's own lines,
judged in plain Python (analytics_day.py) or labelled by hand."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pyarrow.parquet as pq
import pytest
from pyspark.sql import SparkSession

from tasks.analytics.day import EVENT_COLUMNS
from tasks.analytics.job import EventsRefused, run_job
from tasks.analytics.run import record_events
from tasks.quality.validate import label
from tasks.resources import postgres
from tasks.resources.spark_work import as_url
from tasks.settings import get_settings
from tests.event_rules import failed_rules
from tests.integration.analytics_day import EVENT_LINES, STUDENTS, expected_day, local, parse
from tests.integration.conftest import LENIENT

pytestmark = pytest.mark.integration
DAY = date(2017, 11, 16)
PREFIX = "raw/2017-11-16/"
MALFORMED = "expect_column_values_to_be_null(malformed_line)"
NO_TIME = "expect_column_values_to_not_be_null(at)"
BAD_TIME = "expect_column_values_to_match_regex(at)"
BAD_KEY = "expect_column_values_to_match_regex(student_id_client_type)"
RULES = {  # analytics_day.failed_rules' words -> the suite's expectations
    "at is missing": NO_TIME,
    "at is not a timestamp": BAD_TIME,
    "studentId_clientType is not <id>@<client>": BAD_KEY,
}


def settings(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()


def write_parts(folder: Path, parts: dict[str, bytes]) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in parts.items():
        (folder / name).write_bytes(data)
    return [as_url(folder / name) for name in sorted(parts)]


def job(spark: SparkSession, events: list[str], students: str, out: Path) -> dict[str, Any]:
    return run_job(spark, events, students, out, DAY, source_prefix=PREFIX, load_id="load-1")


def lines_of(*records: Any) -> bytes:
    return "".join(
        (r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in records
    ).encode("utf-8")


# ---------------------------------------------------------------- the split and GX agree


def test_the_split_counts_what_gx_counts_on_the_same_frame(analytics_run: dict) -> None:
    validation = analytics_run["_validation"]
    split, gx = validation["unexpected"], validation["gx_unexpected"]
    assert split and set(split) <= set(gx)
    assert {name: gx[name] for name in split} == split
    assert split[MALFORMED] == 3 and split[BAD_KEY] == 2 and split[BAD_TIME] == 1
    assert split[NO_TIME] == 1 + 3  # s6's event, and the malformed lines, which carry no field


def test_every_row_level_check_agrees_with_gx_on_hostile_values(
    spark: SparkSession, analytics_inputs: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings(monkeypatch, PDBI_REJECT_THRESHOLDS='{"events": 1.0}')
    ok = {"at": "2017-11-16 10:00:00", "uuid": "u", "name": "PageView", "platform": "Web"}
    hostile = [
        ok,
        {**ok, "uuid": "u" * 65, "device_new": "maybe", "nth": "third", "clv_total": 1.5},
        {**ok, "uuid": None, "platform": "Fax", "name": "Click", "country": "Brazil"},
        {**ok, "custom_4": "Heavy User", "city_name": "c" * 201, "custom_1": "u" * 301},
        {**ok, "custom_2": "k" * 301, "Page Name": "p" * 301, "first-accessed-page": "f" * 2049},
        {**ok, "LastAccessedUrl": "/" * 2049, "at": "2017-02-30", "studentId_clientType": "@iOS"},
        {**ok, "studentId_clientType": "x" * 65 + "@iOS", "at": " 2017-11-16 "},
        '{"not": "closed"',
    ]
    urls = write_parts(tmp_path / "raw", {"part-00000.json": lines_of(*hostile)})
    result = job(spark, urls, analytics_inputs["students"], tmp_path / "out")
    split, gx = result["_validation"]["unexpected"], result["_validation"]["gx_unexpected"]
    assert {name: gx[name] for name in split} == split
    # the test is not vacuous: every row-level expectation flagged something
    assert [name for name, count in split.items() if not count] == []


def test_the_report_gives_example_values_where_rows_were_flagged_and_only_there(
    analytics_run: dict, analytics_inputs: dict
) -> None:
    failed = "studentId_clientType is not <id>@<client>"
    bad_keys = []
    for lines in analytics_inputs["lines"].values():
        for line in lines:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and failed in failed_rules(record):
                bad_keys.append(record["studentId_clientType"])
    shown = {}
    for outcome in analytics_run["_validation"]["report"]["results"]:
        config, result = outcome["expectation_config"], outcome["result"]
        shown[label(config["type"], config["kwargs"])] = (
            result.get("unexpected_count"),
            result.get("partial_unexpected_list"),
        )
    flagged = {what for what, (count, _) in shown.items() if count}
    assert BAD_KEY in flagged and any(not count for count, _ in shown.values())
    assert {what for what, (_, examples) in shown.items() if examples} == flagged
    assert sorted(shown[BAD_KEY][1]) == sorted(bad_keys) and len(bad_keys) == 2


# ---------------------------------------------------------------- what happens to the lines


def test_every_unusable_line_is_quarantined_with_its_line_number_and_reasons(
    analytics_run: dict, analytics_inputs: dict
) -> None:
    want = {}
    for name, lines in analytics_inputs["lines"].items():
        for number, line in enumerate(lines, start=1):  # blank lines count, as in an editor
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                record = line
            if not isinstance(record, dict):
                want[(PREFIX + name, number)] = ([MALFORMED], line)
            elif failed := failed_rules(record):
                want[(PREFIX + name, number)] = ([RULES[f] for f in failed], record)
    text = local(analytics_run["_rejected"]["path"]).read_bytes()
    quarantined = [json.loads(line) for line in text.splitlines()]
    got = {
        (q["source_file"], q["source_row"]): (q["failed_expectations"], q["record"])
        for q in quarantined
    }
    assert got == want
    assert len(quarantined) == len(want) == 6
    assert {q["load_id"] for q in quarantined} == {"load-1"}


def test_the_validated_parquet_holds_exactly_the_valid_events(analytics_run: dict) -> None:
    folder = local(analytics_run["_validated"]["path"])
    table = pq.read_table(sorted(folder.glob("*.parquet")))
    assert table.column_names == [*EVENT_COLUMNS, "source_file"]
    valid, _, _ = parse(EVENT_LINES)
    pages = sorted(str(r.get("Page Name") or r.get("PageName")) for r in valid)
    assert sorted(str(v) for v in table.column("page_name").to_pylist()) == pages
    assert table.num_rows == analytics_run["_events"]["valid"] == len(valid)
    assert set(table.column("source_file").to_pylist()) == {
        f"{PREFIX}part-00000.json", f"{PREFIX}part-00001.json",
    }  # fmt: skip
    names = table.column("page_name").to_pylist()
    assert "nul\x00byte" in names and "p" * 70_000 in names  # exact, NUL and all


def test_a_day_over_the_threshold_is_refused_before_anything_is_written(
    spark: SparkSession, analytics_inputs: dict, tmp_path: Path
) -> None:
    """Default threshold (1%): the hand-written day is a quarter unusable."""
    out = tmp_path / "out"
    with pytest.raises(EventsRefused) as refused:
        job(spark, analytics_inputs["events"], analytics_inputs["students"], out)
    message = str(refused.value)
    assert "6 of 23 events (26.09%) are unusable (3 rejected, 3 malformed)" in message
    assert "above the events suite's 1.00% reject threshold" in message
    assert f"{NO_TIME} (4 rows)" in message and "Nothing was published." in message
    assert not (out / "validated").exists() and not (out / "manifest.json").exists()
    assert len((out / "events.jsonl").read_bytes().splitlines()) == 6  # still quarantined
    assert refused.value.result["_validation"]["success"] is False


def test_a_day_without_events_is_refused(
    spark: SparkSession, analytics_inputs: dict, tmp_path: Path
) -> None:
    urls = write_parts(tmp_path / "raw", {"part-00000.json": b"", "part-00001.json": b"\n \n"})
    with pytest.raises(EventsRefused, match="hold no events at all"):
        job(spark, urls, analytics_inputs["students"], tmp_path / "out")


# ---------------------------------------------------------------- hostile events


def test_events_with_no_uuid_and_missing_keys_load(
    spark: SparkSession, analytics_inputs: dict, tmp_path: Path
) -> None:
    """A day whose events carry no uuid, and hardly any key, is a day: warned, not refused."""
    records = [{"at": "2017-11-16 10:00:00", "studentId_clientType": "s1@Website"}] * 3
    records += [{"at": "2017-11-16"}, {"at": "2017-11-16 23:00", "country": "us"}]
    urls = write_parts(tmp_path / "raw", {"part-00000.json": lines_of(*records)})
    result = job(spark, urls, analytics_inputs["students"], tmp_path / "out")
    assert result["_events"]["valid"] == 5 and result["_events"]["rejected"] == 0
    uuid = next(
        r for r in result["_validation"]["report"]["results"]
        if r["expectation_config"]["type"] == "expect_column_values_to_not_be_null"
        and r["expectation_config"]["kwargs"]["column"] == "uuid"
    )  # fmt: skip
    assert uuid["success"] is False and uuid["expectation_config"]["severity"] == "warning"
    assert result["full"]["rows"] == 1  # three identical views of s1: one distinct event


def test_a_bom_crlf_lines_and_an_empty_part_are_read_like_any_other(
    spark: SparkSession, analytics_inputs: dict, tmp_path: Path
) -> None:
    first = b"\xef\xbb\xbf" + lines_of({"at": "2017-11-16 10:00:00", "uuid": "a"})
    second = b'{"at": "2017-11-16 11:00:00", "uuid": "b"}\r\n{"at": "2017-11-16", "uuid": "c"}\r\n'
    urls = write_parts(
        tmp_path / "raw",
        {"part-00000.json": first, "part-00001.json": b"", "part-00002.json": second},
    )
    result = job(spark, urls, analytics_inputs["students"], tmp_path / "out")
    assert result["_events"] == {
        "read": 3, "valid": 3, "rejected": 0, "malformed": 0, "identified": 0,
        "anonymous": 3, "null_country": 0,
    }  # fmt: skip
    # the empty part is a file of the day: counted, with nothing in it
    assert result["_files"]["part-00001.json"] == dict.fromkeys(
        ("read", "valid", "rejected", "malformed"), 0
    )


def test_lines_that_are_not_one_object_in_utf8_are_malformed_not_guessed(
    spark: SparkSession, analytics_inputs: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings(monkeypatch, PDBI_REJECT_THRESHOLDS='{"events": 1.0}')
    good = {"at": "2017-11-16 10:00:00", "custom_2": "Nutrição", "studentId_clientType": "s1@iOS"}
    latin = json.dumps(good, ensure_ascii=False).encode("latin-1") + b"\n"
    others = lines_of(good, "[1, 2]", '"text"', "42", "null", "true", '{"at": "x"} trailing')
    urls = write_parts(tmp_path / "raw", {"part-00000.json": latin + others})
    result = job(spark, urls, analytics_inputs["students"], tmp_path / "out")
    assert result["_events"]["malformed"] == 7 and result["_events"]["valid"] == 1
    quarantined = local(result["_rejected"]["path"]).read_bytes().splitlines()
    assert [json.loads(q)["source_row"] for q in quarantined] == [1, 3, 4, 5, 6, 7, 8]
    parquet = pq.read_table(sorted(local(result["_validated"]["path"]).glob("*.parquet")))
    assert parquet.column("custom_2").to_pylist() == ["Nutrição"]  # never a garbled one


def plain_verdicts(data: bytes) -> list[tuple[int, str]]:
    """(line number, "valid" | "rejected" | "malformed") per non-blank line, in plain Python:
    strict UTF-8, strict JSON (a raw control character inside a string is not JSON), one
    object, then the critical rules."""
    found = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip(b" \t\r"):
            continue
        try:
            record = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            record = None
        if not isinstance(record, dict):
            found.append((number, "malformed"))
        else:
            found.append((number, "rejected" if failed_rules(record) else "valid"))
    return found


def test_raw_nul_bytes_and_very_long_lines_load_what_can_be_loaded(
    spark: SparkSession, analytics_inputs: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NUL bytes in the file itself (not JSON-escaped) and lines of megabytes: each line is
    judged alone, the lines around them load, the long ones are kept exactly."""
    settings(monkeypatch, PDBI_REJECT_THRESHOLDS='{"events": 1.0}')
    ok = {"at": "2017-11-16 10:00:00", "studentId_clientType": "s1@Website", "country": "us"}
    long_page = "p" * 3_000_000
    data = b"".join(
        [
            lines_of(ok),
            b'{"at": "2017-11-16 10:01:00", "Page Name": "raw\x00nul"}\n',  # unescaped: not JSON
            b"\x00\x00\x00\n",  # a line of NUL bytes only
            b'{"at": "2017-11-16 10:02:00"}\x00\n',  # a NUL after the object
            lines_of({**ok, "Page Name": long_page}),  # a valid line of 3 MB
            b'{"at": "2017-11-16 10:03:00", "Page Name": "' + b"q" * 2_000_000 + b"\n",  # open
            lines_of({**ok, "at": "not a time", "custom_2": "x" * 1_000_000}),  # rejected, long
            lines_of({**ok, "Page Name": "after"}),
        ]
    )
    urls = write_parts(tmp_path / "raw", {"part-00000.json": data})
    result = job(spark, urls, analytics_inputs["students"], tmp_path / "out")

    want = plain_verdicts(data)
    assert [v for _, v in want] == ["valid", "malformed", "malformed", "malformed", "valid",
                                    "malformed", "rejected", "valid"]  # fmt: skip
    tally = Counter(v for _, v in want)
    assert {k: result["_events"][k] for k in ("valid", "rejected", "malformed")} == tally
    assert result["_events"]["read"] == len(want)
    quarantine = local(result["_rejected"]["path"]).read_bytes()
    quarantined = [json.loads(q) for q in quarantine.splitlines()]
    assert [q["source_row"] for q in quarantined] == [n for n, v in want if v != "valid"]
    by_row = {q["source_row"]: q["record"] for q in quarantined}
    assert by_row[2] == '{"at": "2017-11-16 10:01:00", "Page Name": "raw\x00nul"}'
    assert by_row[3] == "\x00\x00\x00"  # the exact text, NUL bytes and all
    assert len(by_row[6]) > 2_000_000 and by_row[7]["custom_2"] == "x" * 1_000_000
    parquet = pq.read_table(sorted(local(result["_validated"]["path"]).glob("*.parquet")))
    pages = sorted(v or "" for v in parquet.column("page_name").to_pylist())
    assert pages == ["", "after", long_page]


def test_the_uniqueness_of_uuid_is_opt_in(
    spark: SparkSession, analytics_inputs: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [{"at": "2017-11-16", "uuid": u} for u in ("a", "b", "a", "c", "a")]
    urls = write_parts(tmp_path / "raw", {"part-00000.json": lines_of(*records)})

    def unique(result: dict) -> list[dict]:
        return [
            r["result"] for r in result["_validation"]["report"]["results"]
            if r["expectation_config"]["type"] == "expect_column_values_to_be_unique"
        ]  # fmt: skip

    assert unique(job(spark, urls, analytics_inputs["students"], tmp_path / "a")) == []
    settings(monkeypatch, PDBI_EVENTS_OPT_IN_CHECKS="true")
    (found,) = unique(job(spark, urls, analytics_inputs["students"], tmp_path / "b"))
    assert found["unexpected_count"] == 3  # the three "a"s, reported, loaded


# ---------------------------------------------------------------- the warehouse's records


def test_the_validation_rejects_and_counts_reach_the_warehouse_and_reconcile(
    analytics_run: dict, migrated: psycopg.Connection
) -> None:
    for _ in range(2):  # a retried load replaces its own rows
        record_events(analytics_run, "load-1", DAY, "loaded")
    rejected = postgres.fetch_all(
        migrated,
        "select source_file, source_row, failed_expectations, record from meta.rejected_rows"
        " where entity = 'events' order by 1, 2",
    )
    assert len(rejected) == 6
    assert {row[2][0] for row in rejected} == {MALFORMED, NO_TIME, BAD_TIME, BAD_KEY}
    records = {type(r[3]) for r in rejected}
    assert records == {dict, str}  # rejected objects stored as objects, malformed lines as text
    counts = postgres.fetch_all(
        migrated,
        "select source_file, rows_read, rows_loaded, rows_rejected from meta.load_counts"
        " where entity = 'events' order by 1",
    )
    files = analytics_run["_files"]
    assert counts == [
        (PREFIX + name, c["read"], c["valid"], c["rejected"] + c["malformed"])
        for name, c in sorted(files.items())
    ]
    assert sum(c[1] for c in counts) == 23 and sum(c[2] for c in counts) == 17
    (validation,) = postgres.fetch_all(
        migrated,
        "select suite, source_file, status, rows_evaluated, rows_rejected, threshold"
        " from meta.validation_results where entity = 'events'",
    )
    assert validation == ("events", f"{PREFIX}part-*.json", "loaded", 23, 6, 0.5)
    expectations = postgres.fetch_all(
        migrated,
        "select unexpected_count from meta.validation_expectations where entity = 'events'"
        " and expectation_type = 'expect_column_values_to_be_null'",
    )
    assert expectations == [(3,)]


def test_the_hand_written_day_is_what_the_lenient_run_saw() -> None:
    """Guards the fixtures: the lenient threshold is what let the day load."""
    events = expected_day(EVENT_LINES, STUDENTS)["_events"]
    unusable = (events["rejected"] + events["malformed"]) / events["read"]
    assert 0.01 < unusable <= json.loads(LENIENT["PDBI_REJECT_THRESHOLDS"])["events"]
