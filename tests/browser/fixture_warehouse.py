"""Warehouse rows for the Data quality and Pipeline pages, and a tiny Data Docs site.

The rows go into a freshly migrated database the way tasks/stage/load.py and the flow would leave
them; tests derive what the pages must show from these lists, not from the app's queries.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb


def _check(kind: str, column: str, success: bool, unexpected: int, severity: str = "critical"):
    return {
        "expectation_config": {"type": kind, "kwargs": {"column": column}, "severity": severity},
        "success": success,
        "result": {"element_count": 1000, "unexpected_count": unexpected},
    }


NOT_NULL, IN_SET = "expect_column_values_to_not_be_null", "expect_column_values_to_be_in_set"
T0 = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
# (load_id, run_date, suite, source_file, status, checks, rows_evaluated, rows_rejected, at)
VALIDATIONS = [
    ("L15", date(2017, 11, 15), "students", "transactional/2017-11-15/students.json", "loaded",
     [_check(NOT_NULL, "Id", True, 0), _check(IN_SET, "State", True, 0)], 2000, 0, T0),
    ("L16", date(2017, 11, 16), "students", "transactional/2017-11-16/students.json", "loaded",
     [_check(NOT_NULL, "Id", False, 12), _check(IN_SET, "State", True, 0)], 2000, 12,
     T0 + timedelta(days=1)),
    ("L15", date(2017, 11, 15), "events", "raw/2017-11-15/part-00000.json", "loaded",
     [_check(NOT_NULL, "at", True, 0)], 5000, 0, T0),
    ("L16", date(2017, 11, 16), "events", "raw/2017-11-16/part-00000.json", "loaded",
     [_check(NOT_NULL, "at", False, 30), _check(IN_SET, "custom_4", False, 5, "warning")],
     5000, 30, T0 + timedelta(days=1)),
    ("L16", date(2017, 11, 16), "events", "raw/2017-11-16/part-00001.json", "loaded",
     [_check(NOT_NULL, "at", False, 9), _check(IN_SET, "custom_4", True, 0, "warning")],
     4000, 9, T0 + timedelta(days=1, minutes=1)),
    ("L16", date(2017, 11, 16), "sessions", "transactional/2017-11-16/sessions.json", "failed",
     [_check(NOT_NULL, "StudentId", False, 400)], 3000, 400, T0 + timedelta(days=1)),
]  # fmt: skip
# (run_id, run_date, state, started_at, finished_at or None, rows_loaded, rows_rejected, error)
RUNS = [
    ("daily-2017-11-14", date(2017, 11, 14), "Completed", T0 - timedelta(days=1),
     T0 - timedelta(days=1) + timedelta(minutes=4, seconds=5), 12345, 7, None),
    ("daily-2017-11-15", date(2017, 11, 15), "Failed", T0, T0 + timedelta(minutes=1, seconds=2),
     None, None, "1 of 7 stage loads failed, the others loaded: sessions: too many rejects"),
    ("daily-2017-11-16", date(2017, 11, 16), "Completed", T0 + timedelta(days=1),
     T0 + timedelta(days=1, minutes=3, seconds=30), 23456, 0, None),
]  # fmt: skip

INSERT_VALIDATION = """
insert into meta.validation_results (
    load_id, run_date, entity, suite, source_file, status, success, evaluated_expectations,
    successful_expectations, rows_evaluated, rows_unexpected, rows_rejected, reject_ratio,
    threshold, result, validated_at
) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
"""
INSERT_RUN = """
insert into meta.pipeline_runs (
    run_name, run_date, state, started_at, finished_at, rows_loaded, rows_rejected, error, run_id
) values (%s, %s, %s, %s, %s, %s, %s, %s, gen_random_uuid()::text)
"""


# meta.guard_decisions: one accepted day (listed on Data quality), one stopped (not listed)
GUARD_DECISIONS = [
    ("load-accepted", date(2017, 11, 15), "empty-type2-export", "2017-11-15/students.json",
     "accepted", "2017-11-15/students.json is empty: 0 students loaded of 0 rows read"),
    ("load-stopped", date(2017, 11, 14), "empty-type2-export", "2017-11-14/courses.json",
     "stopped", "2017-11-14/courses.json is empty: 0 courses loaded of 0 rows read"),
]  # fmt: skip
INSERT_GUARD = """
insert into meta.guard_decisions (load_id, run_date, guard, source_file, decision, figures,
    message, decided_at) values (%s, %s, %s, %s, %s, %s, %s, %s)
"""


def fill(conn: psycopg.Connection) -> None:
    """The validations and runs above, in a migrated database."""
    for load_id, day, suite, source, status, checks, rows, rejected, at in VALIDATIONS:
        ok = sum(check["success"] for check in checks)
        result = {"success": ok == len(checks), "results": checks,
                  "statistics": {"evaluated_expectations": len(checks),
                                 "successful_expectations": ok}}  # fmt: skip
        conn.execute(
            INSERT_VALIDATION,
            (load_id, day, suite, suite, source, status, ok == len(checks), len(checks), ok,
             rows, rejected, rejected, rejected / rows, 0.05, Jsonb(result), at),
        )  # fmt: skip
    for run in RUNS:
        conn.execute(INSERT_RUN, run)
    for load_id, day, guard, source, decision, message in GUARD_DECISIONS:
        conn.execute(INSERT_GUARD, (load_id, day, guard, source, decision, Jsonb({"rows_read": 0}),
                                    message, T0 + timedelta(hours=2)))  # fmt: skip
    conn.commit()


DATA_DOCS = {
    "data_docs/index.html": "<html><head><link rel='stylesheet' href='static/style.css'></head>"
    "<body><h1>pdbi Data Docs</h1><a href='validations/events.html'>events</a></body></html>",
    "data_docs/static/style.css": "h1 { color: #0072b5; }",
    "data_docs/validations/events.html": "<html><body><h2>events suite</h2></body></html>",
}
SECRET = "TOP-SECRET-STUDENT-DATA"


def write_reports(lake_root: Path) -> None:
    """A small Data Docs site in reports/, a secret outside it, and a symlink leaking it."""
    for name, text in DATA_DOCS.items():
        path = lake_root / "reports" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    secret = lake_root / "transactional" / "2017-11-16" / "students.json"
    secret.parent.mkdir(parents=True, exist_ok=True)
    secret.write_text(f'[{{"Id": "{SECRET}"}}]', encoding="utf-8")
    (lake_root / "secret.txt").write_text(SECRET, encoding="utf-8")
    (lake_root / "reports" / "data_docs" / "leak.html").symlink_to(secret)
