"""The analytics job on real local Spark, checked against answers computed in plain Python.

The hand-written day (analytics_day.py) holds every quirk the job must survive; the expected
CSV rows are derived from the same lines with json/csv only, never with Spark. This file checks
the case study's three outputs and the job's entry points; test_analytics_outputs.py the rest,
test_events_validation.py what the events suite does to the day.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession

from tasks.analytics import day as days
from tasks.analytics import keyed
from tasks.analytics.job import ORIGINAL_OUTPUTS, OUTPUTS, main, run_job
from tasks.quality import events as suite
from tasks.resources.spark_work import as_url
from tests.integration.analytics_day import EVENT_LINES, STUDENTS, expected_day, local
from tests.integration.conftest import LENIENT

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DAY = date(2017, 11, 16)


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def expected() -> dict[str, Any]:
    return expected_day(EVENT_LINES, STUDENTS)


@pytest.fixture
def lenient(monkeypatch: pytest.MonkeyPatch) -> None:
    from tasks.settings import get_settings

    for name, value in LENIENT.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()


def _read_csv(path: str | Path) -> list[list[str]]:
    with open(local(path), encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def _files(folder: Path, report: bool = True) -> dict[str, bytes]:
    """The job's files (the validated Parquet's part names are Spark's, random: left out; so is
    GX's report with `report=False`, which GX stamps with the time it loaded the batch)."""
    return {
        p.name: p.read_bytes()
        for p in folder.iterdir()
        if p.is_file() and (report or p.name != "validation.json")
    }


# ---------------------------------------------------------------- tests


@pytest.mark.parametrize("name", OUTPUTS)
def test_each_csv_matches_the_plain_python_answer(
    analytics_run: dict, expected: dict, name: str
) -> None:
    got = _read_csv(analytics_run[name]["path"])
    want = expected[name]
    assert got[0] == want[0], "header"
    for index, (got_row, want_row) in enumerate(zip(got, want, strict=False)):
        assert got_row == want_row, f"{name}.csv row {index}"
    assert len(got) == len(want)
    assert analytics_run[name]["rows"] == len(want) - 1
    assert local(analytics_run[name]["path"]).name == f"{name}.csv"


def test_the_original_headers_are_unchanged(analytics_run: dict) -> None:
    """country.csv, users.csv and full.csv are read by the dashboard: names and headers fixed."""
    headers = {name: _read_csv(analytics_run[name]["path"])[0] for name in ORIGINAL_OUTPUTS}
    assert headers == {
        "country": ["country", "count"],
        "users": ["custom_4", "count"],
        "full": ["student_id", "client", "at", "browser", "country", "custom_4", "page_name",
                 "last_accessed_url", "state", "city", "university", "course"],
    }  # fmt: skip


def test_the_fixture_exercises_the_quirks(expected: dict) -> None:
    """Guards the test itself: the hand-written input really has what it claims."""
    countries = [row[0] for row in expected["country"][1:]]
    assert "us" in countries and "pt" in countries and "br" not in countries
    assert "uy" not in countries  # only in a malformed line
    assert ["Core User", "3"] in expected["users"]
    assert any(row[0] == "yes" for row in expected["users"])
    full_ids = {row[0] for row in expected["full"][1:]}
    assert "s3" not in full_ids and {"s1", "s2", "s4", "s5", "s7"} <= full_ids
    assert "s6" not in full_ids  # its only event has no time: rejected
    assert [row[0] for row in expected["hours"][1:]] == ["10", "11", "12", "13", "15", "23", ""]
    assert any(len(row[6]) == 70_000 for row in expected["full"][1:])  # a very long value
    assert any("\x00" in row[6] for row in expected["full"][1:])  # a NUL byte
    assert expected["_events"] == {
        "read": 23, "valid": 17, "rejected": 3, "malformed": 3, "identified": 14,
        "anonymous": 3, "null_country": 5,
    }  # fmt: skip


def test_event_counts_are_reported_and_reconcile(analytics_run: dict, expected: dict) -> None:
    events = analytics_run["_events"]
    assert events == expected["_events"]
    assert events["read"] == events["valid"] + events["rejected"] + events["malformed"]
    assert events["valid"] == events["identified"] + events["anonymous"]
    assert analytics_run["_validated"]["rows"] == events["valid"]


def test_output_folder_holds_the_outputs_quarantine_report_and_manifest(
    analytics_run: dict,
) -> None:
    folder = local(analytics_run["full"]["path"]).parent
    want = {f"{name}.csv" for name in OUTPUTS} | {
        "manifest.json", "malformed-events.jsonl", "events.jsonl", "validation.json",
    }  # fmt: skip
    assert set(_files(folder)) == want
    assert {p.name for p in folder.iterdir() if p.is_dir()} == {"validated", "full"}
    parts = sorted(p.name for p in (folder / "full").glob("part-*.parquet"))
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    assert manifest["parquet"]["rows"] == analytics_run["full"]["rows"]
    assert len(manifest["parquet"]["files"]) == len(parts) > 0


def test_a_second_run_writes_identical_bytes(
    spark: SparkSession, analytics_inputs: dict, analytics_run: dict, tmp_path: Path, lenient
) -> None:
    second = run_job(
        spark, analytics_inputs["events"], analytics_inputs["students"], tmp_path, DAY,
        source_prefix="raw/2017-11-16/", load_id="load-1",
    )  # fmt: skip
    first = _files(local(analytics_run["full"]["path"]).parent, report=False)
    assert _files(tmp_path, report=False) == first
    assert second["_manifest"]["path"] == as_url(tmp_path / "manifest.json")


def test_rerun_into_the_same_folder_replaces_the_files(
    spark: SparkSession, analytics_inputs: dict, tmp_path: Path, lenient
) -> None:
    inputs = (analytics_inputs["events"], analytics_inputs["students"], tmp_path, DAY)
    first = run_job(spark, *inputs)
    before = _files(tmp_path, report=False)
    parquet = sorted(p.name for p in (tmp_path / "validated").glob("*.parquet"))
    again = run_job(spark, *inputs)
    assert _files(tmp_path, report=False) == before
    assert again["_events"] == first["_events"]
    # the validated Parquet is replaced, not added to
    assert len(list((tmp_path / "validated").glob("*.parquet"))) == len(parquet)


def test_the_day_is_read_once_with_both_spellings_and_every_line_marked(
    spark: SparkSession, analytics_inputs: dict
) -> None:
    critical = suite.critical_checks(suite.expectations())
    day = days.read_day(spark, analytics_inputs["events"], critical).cache()
    try:
        rows = [r for r in day.collect() if not r["is_blank"]]
        assert sum(r["malformed_line"] is not None for r in rows) == 3
        assert sum(r["is_identified"] for r in rows) == 14
        by_page = {r["page_name"] for r in rows}
        assert {"Materia", "Simulado", "Perfil"} <= by_page and "IGNORED" not in by_page
        s1_android = next(r for r in rows if r["client"] == "Android" and r["student_id"] == "s1")
        assert s1_android["last_accessed_url"] == "/materia/1"
        assert s1_android["page_category"] == "Study"
        assert s1_android["device_new"] == "true"  # read as the export wrote it, as text
        assert s1_android["view_at"] == datetime(2017, 11, 16, 10, 5)  # 4 fraction digits
        times = {r["at"]: r["view_at"] for r in rows if r["at"] and r["is_valid"]}
        assert times["2017-11-16T23:59:59"] == datetime(2017, 11, 16, 23, 59, 59)
        assert times["2017-11-16"] is None  # a date has no time of day
        malformed = next(r for r in rows if r["malformed_line"] is not None)
        assert malformed["student_id"] is None and not malformed["is_identified"]
        assert malformed["at"] is None  # none of its fields is read
        padded = next(r for r in rows if r["student_id"] == "s7" and r["is_valid"])
        assert padded["client"] == "Webapp"
    finally:
        day.unpersist()


PADDED_LINES = [
    '{"at": "a"}', '  {"at": "b"}\t', '\t{"at": "c"}', '{"at": "d"}  ', "", "   ", "\t \t",
    '{"at": "e"} trailing', " [1, 2] ", "42", ' x{"at": "f"}', '{"at": "g"', ' {"at": "h"} ',
]  # fmt: skip


def test_every_line_is_judged_whatever_its_padding(spark: SparkSession, tmp_path: Path) -> None:
    """Blank, padded, and not-an-object lines, as Python's json module judges them: Spark's
    reader skips the trimming for the lines that need none, so the others are checked here."""
    source = tmp_path / "part-00000.json"
    source.write_text("\n".join(PADDED_LINES) + "\n", encoding="utf-8")

    def expected(line: str) -> tuple[bool, bool, str | None]:  # blank, malformed, at
        if not line.strip(" \t"):
            return True, False, None
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            return False, True, None
        return (False, False, record["at"]) if isinstance(record, dict) else (False, True, None)

    rows = days.read_lines(spark, [as_url(source)]).orderBy("row_id").collect()
    found = [(r["is_blank"], r["malformed_line"] is not None, r["at"]) for r in rows]
    assert found == [expected(line) for line in PADDED_LINES]
    assert [r["line"] for r in rows] == PADDED_LINES


def test_keyed_outputs_work_on_a_tiny_frame(spark: SparkSession) -> None:
    day = spark.createDataFrame(
        [
            ("a", "Website", "BR", "ColdUser", datetime(2017, 11, 16, 9), True),
            ("a", "Website", "Us", "CasualUser", datetime(2017, 11, 16, 10), True),
            ("b", None, " us", "CasualUser", None, True),
            (None, None, "us", "Cold User", datetime(2017, 11, 16, 10), False),
            (None, None, None, None, None, False),
        ],
        "student_id string, client string, country string, custom_4 string, view_at timestamp, "
        "is_identified boolean",
    )
    today = spark.createDataFrame(
        [("a", 2, True, "SP", "USP"), ("b", 1, False, None, None), ("c", 4, True, "SP", "UFF")],
        "student_id string, page_views long, in_warehouse boolean, state string, university string",
    )
    events = ("country", "users", "hours", "clients")
    found = keyed.event_counts(day, events).collect()
    found += keyed.student_counts(today, ("states", "universities")).collect()
    tables = keyed.split(found, (*events, "states", "universities", "categories"))
    assert tables["country"] == [("us", 2)]
    assert tables["users"] == [("Casual User", 2), ("Cold User", 1)]
    assert tables["hours"] == [(9, 1), (10, 1), (None, 1)]
    assert tables["clients"] == [("Website", 2), (None, 1)]
    assert tables["states"] == [("SP", 2)]
    assert tables["universities"] == [("UFF", 4, 1), ("USP", 2, 1)]
    assert tables["categories"] == []  # named, not counted: an empty table


def test_main_runs_in_process_with_the_active_session(
    spark: SparkSession, analytics_inputs: dict, expected: dict, tmp_path: Path, lenient
) -> None:
    summary = main(["--events", analytics_inputs["glob"],
                    "--students", analytics_inputs["students"],
                    "--out", str(tmp_path), "--run-date", DAY.isoformat()])  # fmt: skip
    assert summary["_events"] == expected["_events"]
    assert _read_csv(tmp_path / "full.csv") == expected["full"]
    # the fixture's session must survive main()
    assert spark.range(1).count() == 1


def test_spark_submit_runs_the_job_as_a_script(
    analytics_inputs: dict, expected: dict, tmp_path: Path
) -> None:
    spark_submit = Path(sys.executable).parent / "spark-submit"
    if not spark_submit.exists():
        pytest.skip("pyspark's spark-submit is not beside the interpreter")
    out = tmp_path / "out"
    command = [
        str(spark_submit),
        "--master", "local[1]",
        "--driver-memory", "1g",
        "--conf", "spark.ui.enabled=false",
        "--conf", "spark.ui.showConsoleProgress=false",
        "--conf", f"spark.local.dir={tmp_path / 'scratch'}",
        "--conf", f"spark.pyspark.python={sys.executable}",
        str(REPO / "tasks" / "analytics" / "job.py"),
        "--run-date", DAY.isoformat(),
        "--events", analytics_inputs["glob"],
        "--students", analytics_inputs["students"],
        "--out", as_url(out),
        "--validated", as_url(tmp_path / "lake" / "validated" / "events" / "day=2017-11-16"),
    ]  # fmt: skip
    # as in an activated venv: spark-submit finds SPARK_HOME through the `python3` on PATH
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYSPARK_GATEWAY")}
    env["PATH"] = f"{spark_submit.parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYSPARK_PYTHON"] = sys.executable
    env.update(LENIENT)
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout[done.stdout.index("{") :])
    assert summary["_events"] == expected["_events"]
    for name in OUTPUTS:
        assert _read_csv(out / f"{name}.csv") == expected[name]
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert manifest["run_date"] == DAY.isoformat() and manifest["events"] == expected["_events"]
    parts = list((tmp_path / "lake" / "validated" / "events" / "day=2017-11-16").glob("*.parquet"))
    assert parts and manifest["validated"]["rows"] == expected["_events"]["valid"]
