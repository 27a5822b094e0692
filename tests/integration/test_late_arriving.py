"""Facts that arrive before their dimension rows, and facts whose student leaves and returns.

Every day stages all seven BASE A entities (empty when a test gives none), then runs every merge
step as the warehouse flow does. Facts of earlier days are not staged again: they must be re-pointed
by the merges themselves. Expected versions are written out by hand.
"""

from __future__ import annotations

from datetime import date

import psycopg
import pytest

from tasks.entities import ENTITIES
from tasks.resources import postgres
from tasks.warehouse.merge import DIMENSIONS, FACTS, MergeCounts, run_merge_step
from tests.integration.test_scd_scenarios import stage_records

pytestmark = pytest.mark.integration

D1, D2, D3, D4, D5 = (date(2017, 11, d) for d in (16, 17, 18, 19, 20))
EVER = date(1900, 1, 1)


def run_day(conn: psycopg.Connection, day: date, **entities: list[dict]) -> dict[str, MergeCounts]:
    for name in ENTITIES:
        stage_records(conn, name, entities.get(name, []))
    counts = {step: run_merge_step(conn, step, day) for step in (*DIMENSIONS, *FACTS)}
    conn.commit()
    return counts


def student(sid: str, city: str) -> dict:
    return {"Id": sid, "State": "Bahia", "City": city, "UniversityId": 1, "CourseId": 10}


def session(sid: str, at: str, client: str = "Website") -> dict:
    return {"StudentId": sid, "SessionStartTime": at, "StudentClient": client}


def sessions(conn: psycopg.Connection) -> list[tuple]:
    """(student, day of the session, city and valid_from of the version it points at)."""
    return postgres.fetch_all(
        conn,
        "select f.student_id, f.session_start_at::date, d.city, d.valid_from"
        " from dw.fct_session as f join dw.dim_student as d using (student_key)"
        " order by 1, 2",
    )


def test_facts_loaded_before_their_student_point_at_it_once_it_arrives(
    migrated: psycopg.Connection,
) -> None:
    run_day(
        migrated,
        D1,
        students=[student("s1", "Ilhéus")],
        sessions=[session("s9", "2017-11-10 08:00:00"), session("s1", "2017-11-15")],
        subscriptions=[{"StudentId": "s9", "PaymentDate": "2017-11-12", "PlanType": "Mensal"}],
        student_follow_subject=[{"StudentId": "s9", "SubjectId": 7, "FollowDate": "2017-11-11"}],
    )
    assert sessions(migrated) == [
        ("s1", date(2017, 11, 15), "Ilhéus", EVER),
        ("s9", date(2017, 11, 10), "unknown", EVER),  # the unknown member, key -1
    ]
    late = "select student_key from dw.fct_session where student_id = 's9'"
    assert postgres.fetch_all(migrated, late) == [(-1,)]

    # the student and the subject arrive; the day's fact files hold none of the old facts
    counts = run_day(
        migrated,
        D2,
        students=[student("s1", "Ilhéus"), student("s9", "Salvador")],
        subjects=[{"Id": 7, "Name": "Cálculo I"}],
    )
    assert [counts[f].repointed for f in FACTS] == [1, 1, 1]
    assert sessions(migrated)[1] == ("s9", date(2017, 11, 10), "Salvador", EVER)
    assert postgres.fetch_all(
        migrated,
        "select s.city, j.name from dw.fct_follow as f"
        " join dw.dim_student as s using (student_key)"
        " join dw.dim_subject as j using (subject_key)",
    ) == [("Salvador", "Cálculo I")]
    assert postgres.fetch_all(
        migrated,
        "select s.city from dw.fct_subscription join dw.dim_student as s using (student_key)",
    ) == [("Salvador",)]

    # the student moves: the new session takes the new version, the old one keeps its own
    run_day(
        migrated,
        D3,
        students=[student("s1", "Ilhéus"), student("s9", "Recife")],
        sessions=[session("s9", "2017-11-18 09:00", "Android")],
    )
    assert sessions(migrated)[1:] == [
        ("s9", date(2017, 11, 10), "Salvador", EVER),
        ("s9", date(2017, 11, 18), "Recife", D3),
    ]


def test_facts_of_a_departed_student_keep_their_version_and_gaps_stay_unknown(
    migrated: psycopg.Connection,
) -> None:
    run_day(
        migrated, D1, students=[student("s9", "Salvador")], sessions=[session("s9", "2017-11-16")]
    )
    run_day(migrated, D3, students=[student("s1", "Ilhéus")])  # s9 left on D3
    run_day(
        migrated, D4, students=[student("s1", "Ilhéus")], sessions=[session("s9", "2017-11-19")]
    )
    run_day(
        migrated,
        D5,
        students=[student("s1", "Ilhéus"), student("s9", "Salvador")],
        sessions=[session("s9", "2017-11-20")],
    )
    assert sessions(migrated) == [
        ("s9", D1, "Salvador", EVER),  # the closed, deleted-flagged version still answers
        ("s9", D4, "unknown", EVER),  # no version of s9 was valid on D4
        ("s9", D5, "Salvador", D5),  # the version opened when s9 came back
    ]


def test_same_day_rerun_removing_a_version_repoints_its_facts(
    migrated: psycopg.Connection,
) -> None:
    run_day(migrated, D1, students=[student("s9", "Salvador")])
    payment = {"StudentId": "s9", "PaymentDate": "2017-11-17 10:00", "PlanType": "Anual"}
    run_day(
        migrated,
        D2,
        students=[student("s9", "Recife")],
        sessions=[session("s9", "2017-11-17 11:00")],
        subscriptions=[payment],
    )
    assert sessions(migrated) == [("s9", D2, "Recife", D2)]
    # the rerun of D2 says s9 did not move, and no longer carries the payment
    counts = run_day(
        migrated,
        D2,
        students=[student("s9", "Salvador")],
        sessions=[session("s9", "2017-11-17 11:00")],
    )
    assert counts["dim_student"].corrected == 2  # today's version removed, the old one reopened
    assert sessions(migrated) == [("s9", D2, "Salvador", EVER)]
    assert postgres.fetch_all(
        migrated,
        "select s.city, s.valid_from from dw.fct_subscription join dw.dim_student as s"
        " using (student_key)",
    ) == [("Salvador", EVER)]
