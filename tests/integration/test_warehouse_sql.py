"""Stage loads and merges on real PostgreSQL: the embedded server and the 127.0.0.1 server."""

from __future__ import annotations

import contextlib
import io
import json
from collections import Counter
from datetime import date, datetime

import psycopg
import pytest
from psycopg import sql

from tasks.entities import ENTITIES
from tasks.errors import DataError
from tasks.resources import postgres
from tasks.stage.load import copy_into_stage
from tasks.stage.parse import BOM, read_batches
from tasks.warehouse.merge import DIMENSIONS, FACTS, run_merge_step

pytestmark = pytest.mark.integration
DAY = date(2017, 11, 16)

SNAPSHOT = {
    "universities": [
        {"Id": 1, "Name": "Universidade Federal do Rio de Janeiro"},
        {"Id": "2", "Name": "USP"},
    ],
    "courses": [{"Id": 10, "Name": "Direito"}, {"Id": "11", "Name": "Administração"}],
    "subjects": [{"Id": 5, "Name": "Cálculo I"}],
    "students": [
        {
            "Id": "s1",
            "RegisteredDate": "2017-01-01 10:00:00.0000",
            "State": "Rio de Janeiro",
            "City": "Niterói",
            "UniversityId": 1,
            "CourseId": "10",
            "SignupSource": "Google",
        },
        {"Id": "s2", "State": "São Paulo", "UniversityId": "2", "CourseId": 11},
    ],
    "sessions": [
        {
            "StudentId": "s1",
            "SessionStartTime": "2017-11-16 13:20:11.000",
            "StudentClient": "Website",
        },
        {"StudentId": "s9", "SessionStartTime": "2017-11-15", "StudentClient": "iOS"},
    ],
    "subscriptions": [{"StudentId": "s1", "PaymentDate": "2017-11-02", "PlanType": "Mensal"}],
    "student_follow_subject": [{"StudentId": "s2", "SubjectId": 5, "FollowDate": "2017-11-03"}],
}


def load(conn: psycopg.Connection, snapshot: dict, day: date = DAY) -> None:
    for name, records in snapshot.items():
        raw = io.BytesIO(BOM + json.dumps(records, ensure_ascii=False).encode())
        copy_into_stage(conn, ENTITIES[name], raw, f"{name}.json", "t", day)
    for step in (*DIMENSIONS, *FACTS):
        run_merge_step(conn, step, day)
    conn.commit()


def table(conn: psycopg.Connection, query: str) -> list[tuple]:
    return postgres.fetch_all(conn, query)


def test_migrations_apply_once_and_report_status(migrated: psycopg.Connection) -> None:
    assert postgres.apply_migrations(migrated) == []
    status = postgres.migration_status(migrated)
    assert [name for name, _ in status] == [p.name for p in postgres.migration_files()]
    assert all(applied for _, applied in status)


def test_stage_keeps_every_value_as_text_with_lineage(migrated: psycopg.Connection) -> None:
    load(migrated, SNAPSHOT)
    rows = table(
        migrated,
        "select id, university_id, course_id, source_file, source_row"
        " from stage.students order by source_row",
    )
    assert rows == [("s1", "1", "10", "students.json", 1), ("s2", "2", "11", "students.json", 2)]
    counts = table(
        migrated,
        "select entity, rows_read, rows_loaded, rows_rejected"
        " from meta.load_counts order by entity",
    )
    assert counts == sorted((n, len(r), len(r), 0) for n, r in SNAPSHOT.items())


def test_flat_students_resolve_the_snowflake(migrated: psycopg.Connection) -> None:
    load(migrated, SNAPSHOT)
    assert table(migrated, "select * from dw.student_flat order by student_id") == [
        ("s1", "Rio de Janeiro", "Niterói", "Universidade Federal do Rio de Janeiro", "Direito"),
        ("s2", "São Paulo", "unknown", "USP", "Administração"),
    ]


def test_rerun_changes_nothing(migrated: psycopg.Connection) -> None:
    load(migrated, SNAPSHOT)
    before = {
        t: table(migrated, f"select * from dw.{t} order by 1, 2")
        for t in ("dim_student", "dim_university", "dim_course", "fct_session", "fct_follow")
    }
    load(migrated, SNAPSHOT)
    after = {t: table(migrated, f"select * from dw.{t} order by 1, 2") for t in before}
    assert after == before


def test_changed_attribute_opens_a_version_and_facts_keep_theirs(
    migrated: psycopg.Connection,
) -> None:
    load(migrated, SNAPSHOT)
    changed = json.loads(json.dumps(SNAPSHOT))
    changed["students"][0]["City"] = "Rio de Janeiro"
    load(migrated, changed, date(2017, 11, 20))
    history = table(
        migrated,
        "select city, valid_from, valid_to, is_current from dw.dim_student"
        " where student_id = 's1' order by valid_from",
    )
    assert history == [
        ("Niterói", date(1900, 1, 1), date(2017, 11, 20), False),
        ("Rio de Janeiro", date(2017, 11, 20), date(9999, 12, 31), True),
    ]
    # the session of the 16th still points at the version valid on the 16th
    assert table(
        migrated,
        "select d.city from dw.fct_session f join dw.dim_student d using (student_key)"
        " where f.student_id = 's1'",
    ) == [("Niterói",)]


def test_late_arriving_student_is_repointed(migrated: psycopg.Connection) -> None:
    load(migrated, SNAPSHOT)
    assert table(migrated, "select student_key from dw.fct_session where student_id = 's9'") == [
        (-1,)
    ]
    later = json.loads(json.dumps(SNAPSHOT))
    later["students"].append({"Id": "s9", "State": "Bahia", "City": "Salvador"})
    load(migrated, later, date(2017, 11, 17))
    assert table(
        migrated,
        "select d.student_id, d.city from dw.fct_session f"
        " join dw.dim_student d using (student_key) where f.student_id = 's9'",
    ) == [("s9", "Salvador")]


def test_crash_mid_copy_keeps_the_previous_stage(migrated: psycopg.Connection) -> None:
    load(migrated, SNAPSHOT)
    bad = io.BytesIO(b'[{"Id": 12, "Name": "ok"}, {"Id": 13, "Name": "nul \\u0000 byte"}]')
    with pytest.raises(DataError, match=r"^courses\.json: "):  # the message names the file
        copy_into_stage(migrated, ENTITIES["courses"], bad, "courses.json", "t2", DAY)
    migrated.rollback()
    assert table(migrated, "select id from stage.courses order by id") == [("10",), ("11",)]


def test_truncated_file_names_the_file() -> None:
    with pytest.raises(DataError, match=r"students.json: not a valid JSON array after record 1"):
        data = b'[{"Id": "a"}, {"Id": "b"'
        list(read_batches(io.BytesIO(data), "students.json", ENTITIES["students"], 10,
                          lambda: contextlib.nullcontext(io.BytesIO(data))))  # fmt: skip


CASTS = [
    # raw text, meta.to_timestamp_or_null, meta.to_int_or_null (as the original's COALESCE rules)
    ("2017-11-16 13:20:11.000", datetime(2017, 11, 16, 13, 20, 11), None),
    (" 2017-11-16 13:20:00.0000 ", datetime(2017, 11, 16, 13, 20), None),
    ("2017-11-16T13:20:11.123456", datetime(2017, 11, 16, 13, 20, 11, 123456), None),
    ("2017-11-16 13:20", datetime(2017, 11, 16, 13, 20), None),
    ("2017-11-16", datetime(2017, 11, 16), None),
    ("2017-11-16 13:20:11.1234567", None, None),
    ("16/11/2017", None, None),
    # the right shape, but no real moment: null too (stage only warns about timestamps)
    ("2016-02-29", datetime(2016, 2, 29), None),
    ("2017-02-29", None, None),
    ("2017-04-31", None, None),
    ("2017-04-30", datetime(2017, 4, 30), None),
    ("2017-01-31 23:59", datetime(2017, 1, 31, 23, 59), None),
    ("2017-06-31", None, None),
    ("2017-01-32", None, None),
    ("2017-01-00", None, None),
    ("2017-02-28", datetime(2017, 2, 28), None),
    ("2000-02-29", datetime(2000, 2, 29), None),
    ("1900-02-29", None, None),
    ("2017-13-01", None, None),
    ("2017-00-10", None, None),
    ("0000-01-01", None, None),
    ("2017-11-16 24:00", None, None),
    ("2017-11-16 23:60:00", None, None),
    ("2017-11-16 23:59:60", None, None),
    ("2017-12-31T23:59:59.999999", datetime(2017, 12, 31, 23, 59, 59, 999999), None),
    ("12", None, 12),
    (" 12 ", None, 12),
    ("12.0", None, 12),
    ("-3", None, -3),
    ("12.5", None, None),
    ("1234567890", None, None),
    ("", None, None),
    ("abc", None, None),
    (None, None, None),
]


def test_casting_helpers_accept_the_quirks_and_turn_the_rest_into_null(
    migrated: psycopg.Connection,
) -> None:
    rows = postgres.fetch_all(
        migrated,
        "select meta.to_timestamp_or_null(raw), meta.to_int_or_null(raw)"
        " from unnest(%s::text[]) with ordinality as t(raw, n) order by n",
        [[raw for raw, _, _ in CASTS]],
    )
    assert rows == [(ts, n) for _, ts, n in CASTS]


def test_sessions_and_payments_without_a_date_load_and_are_counted(
    migrated: psycopg.Connection,
) -> None:
    """A session without a (readable) start time is a session of its student all the same,
    with the unknown date; so is a payment without a date. Reruns add nothing; the next day's
    export reports its own."""
    sessions = [
        {"StudentId": "s1", "SessionStartTime": "2017-11-16 13:20:11.000", "StudentClient": "iOS"},
        {"StudentId": "s1", "StudentClient": "iOS"},  # no start time
        {"StudentId": "s1", "SessionStartTime": None, "StudentClient": "iOS"},
        {"StudentId": "s1", "SessionStartTime": "2017-02-30", "StudentClient": "iOS"},  # unreadable
        {"StudentId": "s2", "StudentClient": "Website"},
        {"StudentId": "s2", "SessionStartTime": "2017-11-15"},  # no client either
        {"StudentId": "s3", "SessionStartTime": "16/11/2017", "StudentClient": "Webapp"},
    ]
    payments = [
        {"StudentId": "s1", "PlanType": "Mensal"},
        {"StudentId": "s1", "PlanType": "Mensal"},
        {"StudentId": "s2", "PaymentDate": "2017-11-02", "PlanType": "Anual"},
    ]
    snapshot = {**SNAPSHOT, "sessions": sessions, "subscriptions": payments}
    snapshot["students"] = [*SNAPSHOT["students"], {"Id": "s3", "City": "Natal"}]
    load(migrated, snapshot)
    per_student = Counter(s["StudentId"] for s in sessions)  # every session counts
    assert dict(table(migrated, "select student_id, count(*) from dw.fct_session group by 1")) == (
        dict(per_student)
    )
    undated = table(
        migrated,
        "select f.student_id, f.client_name, f.date_key, f.reported_on, f.reported_seq,"
        " d.student_id from dw.fct_session as f join dw.dim_student as d using (student_key)"
        " where f.session_start_at is null order by 1, 2, 5",
    )
    assert undated == [
        ("s1", "iOS", -1, DAY, 1, "s1"),
        ("s1", "iOS", -1, DAY, 2, "s1"),
        ("s1", "iOS", -1, DAY, 3, "s1"),
        ("s2", "Website", -1, DAY, 1, "s2"),
        ("s3", "Webapp", -1, DAY, 1, "s3"),
    ]
    assert dict(
        table(migrated, "select student_id, count(*) from dw.fct_subscription group by 1")
    ) == {"s1": 2, "s2": 1}
    before = table(migrated, "select * from dw.fct_session order by 1, 2, 3, 7, 8")
    load(migrated, snapshot)  # the same day again: nothing new
    assert table(migrated, "select * from dw.fct_session order by 1, 2, 3, 7, 8") == before
    load(migrated, snapshot, date(2017, 11, 17))  # the next day's export reports its own
    assert table(
        migrated, "select reported_on, count(*) from dw.fct_session group by 1 order by 1"
    ) == [(DAY, 5), (date(2017, 11, 17), 5), (None, 2)]


def test_merges_leave_statistics_of_what_they_wrote(migrated: psycopg.Connection) -> None:
    """Each merge analyzes the tables it wrote, in its transaction: the next merge (the facts
    right after the dimensions, the next day's in a replay) plans on their sizes, not on an
    empty table's, which once made one fact load loop for over a minute."""
    load(migrated, SNAPSHOT)
    tables = [
        "dim_university", "dim_course", "dim_subject", "dim_student", "dim_client", "dim_plan",
        "dim_date", "fct_session", "fct_subscription", "fct_follow",
    ]  # fmt: skip
    for name in tables:
        counted = sql.SQL("select count(*) from {}").format(sql.Identifier("dw", name))
        (rows,) = postgres.fetch_all(migrated, counted)[0]
        (estimate,) = postgres.fetch_all(
            migrated, "select reltuples from pg_class where oid = %s::regclass", [f"dw.{name}"]
        )[0]
        assert (name, estimate) == (name, rows)


def test_the_rewind_finds_a_days_facts_by_index(migrated: psycopg.Connection) -> None:
    """Every day's merges start with a rewind, which for a new latest day deletes nothing: it
    must find that out from an index on the load's date, not by reading every fact ever loaded.
    (Sequential scans are priced out so that a tiny table's plan shows what a large one's
    would.)"""
    load(migrated, SNAPSHOT)
    statements = [
        " ".join(line for line in text.splitlines() if not line.startswith("--")).strip()
        for text in postgres.read_sql("merge/rewind.sql").split(";")
    ]
    deletes = [s for s in statements if s.startswith("delete from dw.fct_")]
    assert len(deletes) == len(FACTS)
    migrated.execute("set local enable_seqscan = off")
    for statement in deletes:
        plan = postgres.fetch_all(
            migrated, sql.SQL("explain {}").format(sql.SQL(statement)), {"from_day": DAY}
        )
        table_name = statement.split()[2].removeprefix("dw.")
        assert any(f"{table_name}_loaded" in line for (line,) in plan), plan
    migrated.rollback()


def test_the_calendar_spans_every_day_a_fact_names(migrated: psycopg.Connection) -> None:
    """dim_date runs from the facts' first day to their last, by the date each timestamp names,
    even when its time is unreadable; a fact points at its day only when all of it reads."""
    sessions = {
        " 2017-11-20 08:00:00 ": "s1",  # padded: reads
        "2017-12-01 25:00": "s2",  # no such hour: no date, but it names the last day
        "2017-02-30": "s1",  # no such day
        "16/11/2017": "s2",  # not a timestamp at all
    }
    follows = {"2017-10-28T09:30:00": "s2"}
    payments = {"2017-11-02": "s1"}
    snapshot = {
        **SNAPSHOT,
        "sessions": [
            {"StudentId": sid, "SessionStartTime": ts, "StudentClient": "iOS"}
            for ts, sid in sessions.items()
        ],
        "student_follow_subject": [
            {"StudentId": sid, "SubjectId": 5, "FollowDate": ts} for ts, sid in follows.items()
        ],
        "subscriptions": [
            {"StudentId": sid, "PaymentDate": ts, "PlanType": "Mensal"}
            for ts, sid in payments.items()
        ],
    }
    load(migrated, snapshot)

    def named_day(raw: str) -> date | None:
        with contextlib.suppress(ValueError):
            return date.fromisoformat(raw.strip(" ")[:10])
        return None

    def read(raw: str) -> datetime | None:
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(raw.strip(" "))
        return None

    days = [d for d in map(named_day, [*sessions, *follows, *payments]) if d is not None]
    span = [date.fromordinal(n) for n in range(min(days).toordinal(), max(days).toordinal() + 1)]
    assert table(migrated, "select full_date from dw.dim_date where date_key > 0 order by 1") == [
        (d,) for d in span
    ]
    keys = Counter(int(m.strftime("%Y%m%d")) if m else -1 for m in map(read, sessions))
    assert keys[-1] == 3  # the unreadable hour too: its day is in the calendar, not its fact
    assert dict(table(migrated, "select date_key, count(*) from dw.fct_session group by 1")) == (
        dict(keys)
    )


def test_values_are_stored_exactly_and_integer_ids_are_read_as_integers(
    migrated: psycopg.Connection,
) -> None:
    snapshot = {
        **SNAPSHOT,
        "courses": [
            {"Id": "12", "Name": "  Direito  "},
            {"Id": 12.0, "Name": "Direito (the last row wins)"},
            {"Id": 13, "Name": "   "},
        ],
        "students": [
            {"Id": "k", "City": "  padded  ", "State": "Bahia", "CourseId": "12.0"},
            {"Id": "k ", "City": "Natal", "SignupSource": " Google"},
        ],
    }
    load(migrated, snapshot)
    assert table(
        migrated, "select course_id, name from dw.course_current where course_id > 0 order by 1"
    ) == [(12, "Direito (the last row wins)"), (13, "unknown")]
    assert table(
        migrated,
        "select student_id, city, course_id, signup_source from dw.student_current order by 1",
    ) == [("k", "  padded  ", 12, "unknown"), ("k ", "Natal", None, " Google")]
    (result,) = table(
        migrated,
        "select result from meta.validation_results where entity = 'courses' and load_id = 't'",
    )
    (duplicates,) = [
        r for r in result[0]["results"]
        if r["expectation_config"]["type"] == "unexpected_rows_expectation"
    ]  # fmt: skip
    assert (duplicates["success"], duplicates["result"]["observed_value"]) == (False, 2)
