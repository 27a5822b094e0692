"""The analytics job on real local Spark, checked against answers computed in plain Python.

The hand-written day (analytics_day.py) holds every quirk the job must survive; the expected
CSV rows are derived from the same lines with json/csv only, never with Spark. This file checks
the case study's three outputs and the job's entry points; test_analytics_outputs.py the rest.
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

from tasks.analytics import keyed, outputs
from tasks.analytics.job import ORIGINAL_OUTPUTS, OUTPUTS, main, run_job
from tests.integration.analytics_day import EVENT_LINES, STUDENTS, expected_day

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DAY = date(2017, 11, 16)


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def expected() -> dict[str, Any]:
    return expected_day(EVENT_LINES, STUDENTS)


def _read_csv(path: str | Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


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
    assert Path(analytics_run[name]["path"]).name == f"{name}.csv"


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
    assert ["Core User", "3"] in expected["users"]
    assert any(row[0] == "yes" for row in expected["users"])
    full_ids = {row[0] for row in expected["full"][1:]}
    assert "s3" not in full_ids and {"s1", "s2", "s4", "s5", "s6"} <= full_ids
    assert [row[0] for row in expected["hours"][1:]] == ["10", "11", "12", "13", "15", "23", ""]
    assert ["", "1"] in expected["clients"]  # s6 has no client part
    assert expected["_events"] == {
        "read": 16, "malformed": 1, "identified": 12, "anonymous": 3, "null_country": 4,
    }  # fmt: skip


def test_event_counts_are_reported(analytics_run: dict, expected: dict) -> None:
    assert analytics_run["_events"] == expected["_events"]


def test_output_folder_holds_the_outputs_sample_and_manifest(analytics_run: dict) -> None:
    folder = Path(analytics_run["full"]["path"]).parent
    want = {f"{name}.csv" for name in OUTPUTS} | {"manifest.json", "malformed-events.jsonl"}
    assert {p.name for p in folder.iterdir()} == want


def test_a_second_run_writes_identical_bytes(
    spark: SparkSession, analytics_inputs: dict, analytics_run: dict, tmp_path: Path
) -> None:
    second = run_job(spark, analytics_inputs["events"], analytics_inputs["students"], tmp_path, DAY)
    first_dir = Path(analytics_run["full"]["path"]).parent
    for path in sorted(tmp_path.iterdir()):
        assert path.read_bytes() == (first_dir / path.name).read_bytes(), path.name
    assert second["_manifest"]["path"] == str(tmp_path / "manifest.json")


def test_rerun_into_the_same_folder_replaces_the_files(
    spark: SparkSession, analytics_inputs: dict, tmp_path: Path
) -> None:
    first = run_job(spark, analytics_inputs["events"], analytics_inputs["students"], tmp_path, DAY)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    again = run_job(spark, analytics_inputs["events"], analytics_inputs["students"], tmp_path, DAY)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert again["_events"] == first["_events"]


def test_read_events_coalesces_spellings_and_flags_malformed_lines(
    spark: SparkSession, analytics_inputs: dict
) -> None:
    events = outputs.read_events(spark, analytics_inputs["events"]).cache()
    try:
        rows = events.collect()
        assert sum(r["is_malformed"] for r in rows) == 1
        assert sum(r["is_identified"] for r in rows) == 12
        by_page = {r["page_name"] for r in rows}
        assert {"Materia", "Simulado", "Perfil"} <= by_page and "IGNORED" not in by_page
        s1_android = next(r for r in rows if r["client"] == "Android" and r["student_id"] == "s1")
        assert s1_android["last_accessed_url"] == "/materia/1"
        assert s1_android["page_category"] == "Study"
        assert s1_android["view_at"] == datetime(2017, 11, 16, 10, 5)  # 4 fraction digits
        times = {r["at"]: r["view_at"] for r in rows if r["at"]}
        assert times["2017-11-16T23:59:59"] == datetime(2017, 11, 16, 23, 59, 59)
        assert times["2017-11-16"] is None  # a date has no time of day
        malformed = next(r for r in rows if r["is_malformed"])
        assert malformed["source_file"] == "part-00001.json"
        assert malformed["student_id"] is None and not malformed["is_identified"]
    finally:
        events.unpersist()


def test_keyed_outputs_work_on_a_tiny_frame(spark: SparkSession) -> None:
    day = spark.createDataFrame(
        [
            ("a", "Website", "BR", "ColdUser", datetime(2017, 11, 16, 9), True, False),
            ("a", "Website", "Us", "CasualUser", datetime(2017, 11, 16, 10), True, False),
            ("b", None, " us", "CasualUser", None, True, False),
            (None, None, "us", "Cold User", datetime(2017, 11, 16, 10), False, False),
            (None, None, None, None, None, False, True),
        ],
        "student_id string, client string, country string, custom_4 string, view_at timestamp, "
        "is_identified boolean, is_malformed boolean",
    )
    today = spark.createDataFrame(
        [("a", 2, True, "SP", "USP"), ("b", 1, False, None, None), ("c", 4, True, "SP", "UFF")],
        "student_id string, page_views long, in_warehouse boolean, state string, university string",
    )
    events = ("country", "users", "hours", "clients")
    found = keyed.event_counts(day, events).collect()
    found += keyed.student_counts(today, ("states", "universities")).collect()
    tables, counts = keyed.split(found, (*events, "states", "universities", "categories"))
    assert tables["country"] == [("us", 2)]
    assert tables["users"] == [("Casual User", 2), ("Cold User", 1)]
    assert tables["hours"] == [(9, 1), (10, 1), (None, 1)]
    assert tables["clients"] == [("Website", 2), (None, 1)]
    assert tables["states"] == [("SP", 2)]
    assert tables["universities"] == [("UFF", 4, 1), ("USP", 2, 1)]
    assert tables["categories"] == []  # named, not counted: an empty table
    assert counts == {"read": 5, "malformed": 1, "identified": 3, "null_country": 0,
                      "anonymous": 1}  # fmt: skip


def test_main_runs_in_process_with_the_active_session(
    spark: SparkSession, analytics_inputs: dict, expected: dict, tmp_path: Path
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
        "--out", str(out),
    ]  # fmt: skip
    # as in an activated venv: spark-submit finds SPARK_HOME through the `python3` on PATH
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYSPARK_GATEWAY")}
    env["PATH"] = f"{spark_submit.parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYSPARK_PYTHON"] = sys.executable
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout[done.stdout.index("{") :])
    assert summary["_events"] == expected["_events"]
    for name in OUTPUTS:
        assert _read_csv(out / f"{name}.csv") == expected[name]
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert manifest["run_date"] == DAY.isoformat() and manifest["events"] == expected["_events"]
