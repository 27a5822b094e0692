"""Random sequences of snapshots through the SQL merges and through a pure-Python model of
type-2 history; both must agree on every version.

The model states the semantics in the plainest form: within a run the last record of a key
wins; an empty snapshot is ignored; a rerun of a day replaces that day's earlier run (so only the
last run of each day counts); then each day, in order, closes a changed key's version and opens
a new one (valid since 1900-01-01 for a key never seen, else from the day), and for
`hard_deletes="invalidate"` closes and flags the version of a key absent from the snapshot.
One database per database path serves every example; it is emptied between examples.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasks.resources import postgres
from tasks.warehouse.merge import run_merge_step
from tests.integration.test_scd_scenarios import stage_records

pytestmark = pytest.mark.integration

FIRST_DAY = date(2017, 11, 1)
EVER, OPEN = date(1900, 1, 1), date(9999, 12, 31)

students = st.lists(
    st.fixed_dictionaries(
        {
            "Id": st.sampled_from(["a", "b", "c"]),
            "State": st.sampled_from(["SP", "RJ"]),
            "City": st.sampled_from(["x", "y", None]),
            "CourseId": st.sampled_from([1, "2", None]),
            "SignupSource": st.sampled_from(["Google", "Facebook"]),
        }
    ),
    max_size=5,
)
courses = st.lists(
    st.fixed_dictionaries({"Id": st.sampled_from([1, 2, "3"]), "Name": st.sampled_from("AB")}),
    max_size=3,
)
runs = st.lists(st.tuples(st.sampled_from([0, 1, 2]), students, courses), min_size=1, max_size=6)


@dataclass
class Version:
    attrs: tuple  # tracked attributes first
    valid_from: date
    valid_to: date
    is_deleted: bool
    loaded_date: date


def model(days: list[tuple[date, dict[object, tuple]]], tracked: int, invalidate: bool) -> list:
    """Type-2 history of one dimension; snapshots map key -> attributes (tracked ones first)."""
    last: dict[date, dict] = {}
    for day, snapshot in days:
        if snapshot:  # an empty snapshot is ignored; a rerun replaces the day's earlier run
            last[day] = snapshot
    history: dict[object, list[Version]] = {}
    for day, snapshot in sorted(last.items()):
        for key in history.keys() | snapshot.keys():
            versions = history.setdefault(key, [])
            current = versions[-1] if versions and versions[-1].valid_to == OPEN else None
            if key in snapshot:
                attrs = snapshot[key]
                if current and current.attrs[:tracked] == attrs[:tracked]:
                    continue
                if current:
                    current.valid_to = day
                versions.append(Version(attrs, day if versions else EVER, OPEN, False, day))
            elif current and invalidate:
                current.valid_to, current.is_deleted = day, True
    return ordered(
        (key, *v.attrs, v.valid_from, v.valid_to, v.valid_to == OPEN, v.is_deleted, v.loaded_date)
        for key, versions in history.items()
        for v in versions
    )


def ordered(rows: Iterable[tuple]) -> list[tuple]:
    """A canonical order for comparing multisets of rows that may hold None."""
    return sorted(rows, key=repr)


def student_snapshot(records: list[dict]) -> dict[object, tuple]:
    """key -> (state, city, course_id, signup_source), typed as the merge types them."""
    out = {}
    for r in records:
        course = None if r["CourseId"] is None else int(r["CourseId"])
        out[r["Id"]] = (r["State"], r["City"] or "unknown", course, r["SignupSource"])
    return out


def course_snapshot(records: list[dict]) -> dict[object, tuple]:
    return {int(r["Id"]): (r["Name"],) for r in records}


STUDENT_HISTORY = (
    "select student_id, state, city, course_id, signup_source, valid_from, valid_to, is_current,"
    " is_deleted, loaded_date from dw.dim_student where student_key <> -1"
)
COURSE_HISTORY = (
    "select course_id, name, valid_from, valid_to, is_current, is_deleted, loaded_date"
    " from dw.dim_course where course_key <> -1"
)


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(runs=runs)
def test_sql_history_matches_the_model(migrated: psycopg.Connection, runs: list) -> None:
    migrated.rollback()  # whatever a failed example left open
    migrated.execute("delete from dw.dim_student where student_key <> -1")
    migrated.execute("delete from dw.dim_course where course_key <> -1")
    migrated.commit()
    day, days = FIRST_DAY, []
    for gap, student_records, course_records in runs:
        day += timedelta(days=gap)
        days.append((day, student_records, course_records))
        stage_records(migrated, "students", student_records)
        stage_records(migrated, "courses", course_records)
        run_merge_step(migrated, "dim_course", day)
        run_merge_step(migrated, "dim_student", day)
        migrated.commit()

    expected_students = model([(d, student_snapshot(s)) for d, s, _ in days], 3, True)
    assert ordered(postgres.fetch_all(migrated, STUDENT_HISTORY)) == expected_students
    expected_courses = model([(d, course_snapshot(c)) for d, _, c in days], 1, False)
    assert ordered(postgres.fetch_all(migrated, COURSE_HISTORY)) == expected_courses

    # rerunning the last run changes nothing, surrogate keys included
    dump = ("select * from dw.dim_student order by 1", "select * from dw.dim_course order by 1")
    before = [postgres.fetch_all(migrated, q) for q in dump]
    run_merge_step(migrated, "dim_course", day)
    run_merge_step(migrated, "dim_student", day)
    migrated.commit()
    assert [postgres.fetch_all(migrated, q) for q in dump] == before
