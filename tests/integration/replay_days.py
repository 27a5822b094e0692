"""Four small days whose order matters, and the warehouse part of the daily flow as plain calls.

The days change what type-2 history and the facts keep: a student moves (D2), another leaves
(D3) and comes back (D4), one arrives late (its session is in D1, its record in D3), a course
is new on D2, a university renamed on D3, a subject renamed on D2; each day brings a client
and a plan never seen before (their keys are numbered in arrival order), and a follow is
corrected on D3. D2 has a second version of its students export (`variant=1`), for a day
whose export is replaced after it was loaded.

`bench.replay_driver.Driver` runs a day's warehouse section as plain calls (the benchmark of
replays uses it too); the e2e tests run the flow itself.
"""

from __future__ import annotations

import io
import json
from datetime import date

import psycopg
import pyarrow.parquet as pq
from psycopg import sql

from tasks.resources import postgres
from tasks.resources.lake import Lake
from tasks.warehouse.export import students_export_name

DAYS = tuple(date(2017, 11, d) for d in (16, 17, 18, 19))
D1, D2, D3, D4 = DAYS
WAREHOUSE_TABLES = (
    "dim_university", "dim_course", "dim_subject", "dim_student", "dim_client", "dim_plan",
    "dim_date", "fct_session", "fct_subscription", "fct_follow",
)  # fmt: skip


def student(sid: str, city: str, course: int = 1, university: int = 1) -> dict:
    return {"Id": sid, "RegisteredDate": "2017-01-02 10:00:00", "State": "São Paulo", "City": city,
            "UniversityId": university, "CourseId": course, "SignupSource": "Google"}  # fmt: skip


def exports(day: date, variant: int = 0) -> dict[str, list[dict]]:
    """The seven BASE A files of one day (JSON arrays)."""
    n = DAYS.index(day)
    universities = [{"Id": 1, "Name": "USP" if n < 2 else "Universidade de São Paulo"},
                    {"Id": 2, "Name": "UFRJ"}]  # fmt: skip
    courses = [{"Id": 1, "Name": "Direito"}, *([{"Id": 2, "Name": "Letras"}] if n >= 1 else [])]
    subjects = [{"Id": 7, "Name": "Cálculo" if n < 1 else "Cálculo I"}, {"Id": 8, "Name": "Física"}]
    students = [
        student("s1", "Campinas" if n < 1 else "Santos"),
        *([student("s2", "Osasco", university=2)] if n != 2 else []),  # leaves on D3, back on D4
        *([student("s3", "Sorocaba", 2)] if n >= 2 else []),  # arrives on D3
        student("s4", "Jundiaí", 2 if n >= 3 else 1),  # changes course on D4
        student("s5", "Santos"),
    ]
    if day == D2 and variant:  # a corrected export of D2: s5 moved that day, s6 is new
        students = [*students[:-1], student("s5", "Guarujá"), student("s6", "Bauru", 2)]
    clients = ("Website", "Android", "iOS", "Webapp")
    sessions = [
        {"StudentId": "s1", "SessionStartTime": f"{day} 08:00:00", "StudentClient": clients[n]},
        {"StudentId": "s2", "SessionStartTime": f"{day} 09:30:00", "StudentClient": "Website"},
        *([{"StudentId": "s3", "SessionStartTime": "2017-11-16 07:00:00",
            "StudentClient": "Website"}] if n == 0 else []),  # s3's record comes on D3
        {"StudentId": "s4", "SessionStartTime": f"{day} 20:00:00", "StudentClient": "Android"},
    ]  # fmt: skip
    plans = ("Mensal", "Anual", "Semestral", "Trimestral")
    subscriptions = [{"StudentId": "s5", "PaymentDate": f"{day}", "PlanType": plans[n]}]
    follows = [
        {"StudentId": "s1", "SubjectId": 7, "FollowDate": "2017-11-16" if n < 2 else f"{day}"},
        {"StudentId": "s4", "SubjectId": 8, "FollowDate": None},  # dated by the run
    ]
    return {
        "universities.json": universities,
        "courses.json": courses,
        "subjects.json": subjects,
        "students.json": students,
        "sessions.json": sessions,
        "subscriptions.json": subscriptions,
        "student_follow_subject.json": follows,
    }


def write_day(lake: Lake, day: date, variant: int = 0) -> None:
    for name, records in exports(day, variant).items():
        with lake.write_atomic("transactional", f"{day.isoformat()}/{name}") as out:
            out.write(json.dumps(records, ensure_ascii=False).encode("utf-8"))


def warehouse_dump(conn: psycopg.Connection) -> dict[str, list[tuple]]:
    """Every row of every dw table (surrogate keys included), in a canonical order."""
    return {
        t: postgres.fetch_all(
            conn, sql.SQL("select * from {} as t order by t::text").format(sql.Identifier("dw", t))
        )
        for t in WAREHOUSE_TABLES
    }


def exported(lake: Lake, day: date) -> list[tuple]:
    """The rows of the day's students export, as Spark reads them."""
    table = pq.read_table(io.BytesIO(lake.read_bytes("temp", students_export_name(day))))
    return [tuple(row.values()) for row in table.to_pylist()]
