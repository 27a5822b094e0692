"""The analytics job on real local Spark, checked against answers computed in plain Python.

The events file below is written by hand to hold every quirk the job must survive; the
expected CSV rows are derived from the same lines with json/csv only, never with Spark.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.sql import SparkSession

from tasks.analytics import outputs
from tasks.analytics.job import OUTPUTS, main, run_job

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def _event(sic: str | None, **fields: Any) -> str:
    record = {"name": "PageView", "at": "2017-11-16 10:00:00.000", "browser": "Chrome"}
    if sic is not None:
        record["studentId_clientType"] = sic
    record.update(fields)
    return json.dumps(record, ensure_ascii=False)


EVENT_LINES = [
    # s1: spaced keys, Brazil
    _event("s1@Website", **{"Page Name": "Home", "Last Accessed Url": "/home", "country": "br",
                            "custom_4": "Core User", "uuid": "u1", "nth": 1}),
    # s1: unspaced keys, upper-case foreign country, unspaced profile
    _event("s1@Android", at="2017-11-16 10:05:00.000", browser="App",
           **{"PageName": "Materia", "LastAccessedUrl": "/materia/1", "PageCategory": "Study",
              "country": "US", "custom_4": "CoreUser", "uuid": "u2", "device_new": True}),
    # an exact duplicate of the first line
    _event("s1@Website", **{"Page Name": "Home", "Last Accessed Url": "/home", "country": "br",
                            "custom_4": "Core User", "uuid": "u1", "nth": 1}),
    # s2: a stray profile, a value needing CSV quoting
    _event("s2@Webapp", at="2017-11-16 11:00:00.000",
           **{"Page Name": 'Busca, "avançada"', "Last Accessed Url": "/busca?q=a,b",
              "country": "us", "custom_4": "yes", "uuid": "u3", "nth": 3}),
    # the same view again, differing only in keys full.csv does not carry (distinct collapses it)
    _event("s2@Webapp", at="2017-11-16 11:00:00.000",
           **{"Page Name": 'Busca, "avançada"', "Last Accessed Url": "/busca?q=a,b",
              "country": "us", "custom_4": "yes", "uuid": "u3b", "nth": 4}),
    # s2: null country, null profile
    _event("s2@iOS", at="2017-11-16 09:00:00.000", browser=None,
           **{"PageName": "Perfil", "country": None, "custom_4": None}),
    # s3 is not in the warehouse: counted in country/users, absent from full
    _event("s3@Website", **{"Page Name": "Home", "country": "ar", "custom_4": "Casual User"}),
    # anonymous visitors: no key, an empty key, a blank key
    _event(None, **{"Page Name": "Home", "country": "us", "custom_4": "Cold User"}),
    _event("", **{"Page Name": "Home", "country": "fr", "custom_4": "Cold User"}),
    _event("  ", **{"Page Name": "Home", "country": "fr", "custom_4": "New User"}),
    # a malformed line
    '{"studentId_clientType": "s1@Website", "country": "us", "Page Name": ',
    # s4: both spellings (the spaced one wins), padded country, unspaced profile
    _event("s4@Website", at="2017-11-16 12:00:00.000",
           **{"Page Name": "Simulado", "PageName": "IGNORED", "Last Accessed Url": "/simulado",
              "LastAccessedUrl": "/ignored", "country": " PT ", "custom_4": "NewUser"}),
    # s4: accents; country key absent
    _event("s4@Android", at="2017-11-16 12:30:00.000",
           **{"PageName": "Matérias de Ciências", "custom_4": "New User"}),
    # s5: a warehouse student with a null city
    _event("s5@iOS", at="2017-11-16 13:00:00.000",
           **{"Page Name": "Home", "country": "de", "custom_4": "Cold User"}),
    # s6: no client part
    _event("s6", at="2017-11-16 14:00:00.000",
           **{"Page Name": "Home", "country": "ar", "custom_4": "unknown"}),
    # s1 again, unknown profile, no country, Firefox
    _event("s1@Website", at="2017-11-16 15:00:00.000", browser="Firefox",
           **{"Page Name": "Home", "Last Accessed Url": "/home", "custom_4": "unknown"}),
]  # fmt: skip

STUDENTS = [
    {"student_id": "s1", "state": "São Paulo", "city": "Campinas", "university": "Unicamp",
     "course": "Direito"},
    {"student_id": "s2", "state": "Rio de Janeiro", "city": "Niterói", "university": "UFF",
     "course": "Ciências Contábeis"},
    {"student_id": "s4", "state": "Minas Gerais", "city": "Belo Horizonte", "university": "UFMG",
     "course": "Engenharia Civil"},
    {"student_id": "s5", "state": "Bahia", "city": None, "university": "UFBA",
     "course": "Enfermagem"},
    {"student_id": "s6", "state": "Paraná", "city": "Curitiba", "university": "UFPR",
     "course": "Pedagogia"},
    {"student_id": "s7", "state": "Acre", "city": "Rio Branco", "university": "UFAC",
     "course": "Direito"},
]  # fmt: skip


# ---------------------------------------------------------------- the answers, in plain Python


def _parse(lines: list[str]) -> tuple[list[dict], int]:
    records, malformed = [], 0
    for line in lines:
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            malformed += 1
    return records, malformed


def _either(record: dict, spaced: str, unspaced: str) -> str | None:
    value = record.get(spaced)
    return value if value is not None else record.get(unspaced)


def _profile(value: str | None) -> str | None:
    return outputs.PROFILE_SPELLINGS.get(value, value) if value is not None else None


def _identified(records: list[dict]) -> list[dict]:
    found = []
    for record in records:
        key = record.get("studentId_clientType")
        if key is None or not key.strip():
            continue
        student, _, client = key.strip().partition("@")
        found.append({**record, "_student": student, "_client": client if "@" in key else None})
    return found


def _cell(value: str | None) -> str:
    return "" if value is None else str(value)


def expected_country(identified: list[dict]) -> list[list[str]]:
    counts: Counter[str] = Counter()
    for record in identified:
        country = (record.get("country") or "").strip().lower()
        if country and country != "br":
            counts[country] += 1
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [["country", "count"]] + [[c, str(n)] for c, n in ordered]


def expected_users(identified: list[dict]) -> list[list[str]]:
    counts = Counter(p for r in identified if (p := _profile(r.get("custom_4"))) is not None)
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [["custom_4", "count"]] + [[p, str(n)] for p, n in ordered]


def expected_full(identified: list[dict], students: list[dict]) -> list[list[str]]:
    by_id: dict[str, list[dict]] = {}
    for student in students:
        by_id.setdefault(student["student_id"], []).append(student)
    rows = set()
    for r in identified:
        for s in by_id.get(r["_student"], []):
            rows.add((
                r["_student"], r["_client"], r.get("at"), r.get("browser"), r.get("country"),
                _profile(r.get("custom_4")), _either(r, "Page Name", "PageName"),
                _either(r, "Last Accessed Url", "LastAccessedUrl"),
                s["state"], s["city"], s["university"], s["course"],
            ))  # fmt: skip
    columns = list(outputs.FULL_COLUMNS)
    order = [columns.index(c) for c in outputs.FULL_ORDER]

    def nulls_first(row: tuple) -> tuple:
        return tuple((row[i] is not None, row[i] or "") for i in order)

    return [columns] + [[_cell(v) for v in row] for row in sorted(rows, key=nulls_first)]


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("analytics-in")
    # two part files, as the raw zone has them, plus a blank line Spark and json both skip
    half = len(EVENT_LINES) // 2
    (folder / "part-00000.json").write_text("\n".join(EVENT_LINES[:half]) + "\n\n", "utf-8")
    (folder / "part-00001.json").write_text("\n".join(EVENT_LINES[half:]) + "\n", "utf-8")
    table = pa.table(
        {c: pa.array([s[c] for s in STUDENTS], pa.string()) for c in outputs.STUDENT_COLUMNS}
    )
    pq.write_table(table, folder / "students.parquet")
    return {
        "events": [str(folder / "part-00000.json"), str(folder / "part-00001.json")],
        "glob": str(folder / "part-*.json"),
        "students": str(folder / "students.parquet"),
    }


@pytest.fixture(scope="module")
def expected() -> dict[str, Any]:
    records, malformed = _parse(EVENT_LINES)
    identified = _identified(records)
    return {
        "country": expected_country(identified),
        "users": expected_users(identified),
        "full": expected_full(identified, STUDENTS),
        "_events": {
            "read": len(records) + malformed,
            "malformed": malformed,
            "identified": len(identified),
        },
    }


@pytest.fixture(scope="module")
def first_run(
    spark: SparkSession, inputs: dict, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict]:
    out = tmp_path_factory.mktemp("analytics-out-1")
    return run_job(spark, inputs["events"], inputs["students"], out)


def _read_csv(path: str | Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


# ---------------------------------------------------------------- tests


@pytest.mark.parametrize("name", OUTPUTS)
def test_each_csv_matches_the_plain_python_answer(
    first_run: dict, expected: dict, name: str
) -> None:
    got = _read_csv(first_run[name]["path"])
    want = expected[name]
    assert got[0] == want[0], "header"
    for index, (got_row, want_row) in enumerate(zip(got, want, strict=False)):
        assert got_row == want_row, f"{name}.csv row {index}"
    assert len(got) == len(want)
    assert first_run[name]["rows"] == len(want) - 1
    assert Path(first_run[name]["path"]).name == f"{name}.csv"


def test_the_fixture_exercises_the_quirks(expected: dict) -> None:
    """Guards the test itself: the hand-written input really has what it claims."""
    countries = [row[0] for row in expected["country"][1:]]
    assert "us" in countries and "pt" in countries and "br" not in countries
    assert ["Core User", "3"] in expected["users"]
    assert any(row[0] == "yes" for row in expected["users"])
    full_ids = {row[0] for row in expected["full"][1:]}
    assert "s3" not in full_ids and {"s1", "s2", "s4", "s5", "s6"} <= full_ids
    assert expected["_events"]["malformed"] == 1


def test_event_counts_are_reported(first_run: dict, expected: dict) -> None:
    assert first_run["_events"] == expected["_events"]
    assert first_run["_events"] == {"read": 16, "malformed": 1, "identified": 12}


def test_output_folder_holds_only_the_three_files(first_run: dict) -> None:
    folder = Path(first_run["full"]["path"]).parent
    assert sorted(p.name for p in folder.iterdir()) == ["country.csv", "full.csv", "users.csv"]


def test_a_second_run_writes_identical_bytes(
    spark: SparkSession, inputs: dict, first_run: dict, tmp_path: Path
) -> None:
    second = run_job(spark, inputs["events"], inputs["students"], tmp_path)
    for name in OUTPUTS:
        assert Path(second[name]["path"]).read_bytes() == Path(first_run[name]["path"]).read_bytes()


def test_rerun_into_the_same_folder_replaces_the_files(
    spark: SparkSession, inputs: dict, first_run: dict
) -> None:
    out = Path(first_run["full"]["path"]).parent
    before = {n: Path(first_run[n]["path"]).read_bytes() for n in OUTPUTS}
    again = run_job(spark, inputs["events"], inputs["students"], out)
    assert {n: Path(again[n]["path"]).read_bytes() for n in OUTPUTS} == before


def test_read_events_coalesces_spellings_and_flags_malformed_lines(
    spark: SparkSession, inputs: dict
) -> None:
    events = outputs.read_events(spark, inputs["events"])
    try:
        assert events.columns == [*outputs._TIDY_COLUMNS, "is_malformed"]
        rows = events.collect()
        assert sum(r["is_malformed"] for r in rows) == 1
        by_page = {r["page_name"] for r in rows}
        assert {"Materia", "Simulado", "Perfil"} <= by_page and "IGNORED" not in by_page
        s1_android = next(r for r in rows if r["student_id_client_type"] == "s1@Android")
        assert s1_android["last_accessed_url"] == "/materia/1"
        assert s1_android["page_category"] == "Study"
    finally:
        events.unpersist()


def test_output_functions_work_on_a_tiny_frame(spark: SparkSession) -> None:
    columns = list(outputs._TIDY_COLUMNS) + ["is_malformed"]
    base = dict.fromkeys(columns)
    rows = [
        {**base, "student_id_client_type": "a@Website", "country": "BR", "custom_4": "ColdUser"},
        {**base, "student_id_client_type": "a@Website", "country": "Us", "custom_4": "CasualUser"},
        {**base, "student_id_client_type": None, "country": "us", "custom_4": "Cold User"},
    ]
    frame = spark.createDataFrame(
        [tuple(r[c] for c in columns) for r in rows],
        "page_name string, page_category string, page_category_1 string, "
        "page_category_2 string, page_category_3 string, last_accessed_url string, at string, "
        "browser string, country string, custom_4 string, student_id_client_type string, "
        "is_malformed boolean",
    )
    identified = outputs.identified_events(frame)
    assert [tuple(r) for r in outputs.country_counts(identified).collect()] == [("us", 1)]
    assert [tuple(r) for r in outputs.user_profiles(identified).collect()] == [
        ("Casual User", 1),
        ("Cold User", 1),
    ]
    students = spark.createDataFrame(
        [("a", "SP", "Santos", "USP", "Direito")],
        "student_id string, state string, city string, university string, course string",
    )
    full = outputs.full_events(identified, students)
    assert full.columns == list(outputs.FULL_COLUMNS)
    assert full.count() == 2


def test_main_runs_in_process_with_the_active_session(
    spark: SparkSession, inputs: dict, expected: dict, tmp_path: Path
) -> None:
    summary = main(["--events", inputs["glob"], "--students", inputs["students"],
                    "--out", str(tmp_path)])  # fmt: skip
    assert summary["_events"] == expected["_events"]
    assert _read_csv(tmp_path / "full.csv") == expected["full"]
    # the fixture's session must survive main()
    assert spark.range(1).count() == 1


def test_spark_submit_runs_the_job_as_a_script(
    inputs: dict, expected: dict, tmp_path: Path
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
        "--events", inputs["glob"],
        "--students", inputs["students"],
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
