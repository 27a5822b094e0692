"""Type-2 history of dw.dim_student over sequences of snapshots, asserting the exact rows.

Each test writes a day's records into the stage tables (as raw text, the way the stage loader
leaves them) and runs the real merge SQL, on both database paths. Expected rows are written out
by hand from the rules in sql/README.md.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date

import psycopg
import pytest
from psycopg import sql

from tasks.entities import ENTITIES
from tasks.errors import DataError
from tasks.resources import postgres
from tasks.warehouse.merge import MergeCounts, run_merge_step

pytestmark = pytest.mark.integration

D1, D2, D3, D4, D5 = (date(2017, 11, d) for d in (16, 17, 18, 19, 20))
EVER, OPEN = date(1900, 1, 1), date(9999, 12, 31)


def student(sid: str, city: str, signup: str = "Google", course: int | None = 10) -> dict:
    return {
        "Id": sid,
        "State": "Rio de Janeiro",
        "City": city,
        "UniversityId": 1,
        "CourseId": course,
        "SignupSource": signup,
    }


def stage_records(conn: psycopg.Connection, entity: str, records: list[dict]) -> None:
    """Replace stage.<entity> with these records as text, with lineage, as a stage load does.

    Written directly, so these tests exercise the merges and not the stage loader's checks.
    """
    table = sql.Identifier("stage", entity)
    columns = sql.SQL(", ").join(map(sql.Identifier, ENTITIES[entity].stage_columns))
    conn.execute(sql.SQL("truncate {}").format(table))
    with (
        conn.cursor() as cur,
        cur.copy(sql.SQL("copy {} ({}) from stdin").format(table, columns)) as copy,
    ):
        for row, record in enumerate(records, start=1):
            values = (record.get(key) for key in ENTITIES[entity].columns)
            text = tuple(None if v is None else str(v) for v in values)
            copy.write_row((*text, f"{entity}.json", row, "test"))


def merge(conn: psycopg.Connection, day: date, records: list[dict], entity: str = "students",
          step: str = "dim_student") -> MergeCounts:  # fmt: skip
    stage_records(conn, entity, records)
    counts = run_merge_step(conn, step, day)
    conn.commit()
    return counts


def history(conn: psycopg.Connection) -> list[tuple]:
    """(id, city, signup, valid_from, valid_to, is_current, is_deleted, loaded_date) per version."""
    return postgres.fetch_all(
        conn,
        "select student_id, city, signup_source, valid_from, valid_to, is_current, is_deleted,"
        " loaded_date from dw.dim_student where student_key <> -1"
        " order by student_id, valid_from",
    )


def keys(conn: psycopg.Connection) -> dict[tuple[str, date], int]:
    rows = postgres.fetch_all(
        conn, "select student_id, valid_from, student_key from dw.dim_student"
    )
    return {(sid, since): key for sid, since, key in rows}


S1, S2 = student("s1", "Niterói"), student("s2", "Campos")
S1_MOVED = student("s1", "Rio de Janeiro")


def test_first_load_opens_one_version_per_student_valid_since_ever(
    migrated: psycopg.Connection,
) -> None:
    counts = merge(migrated, D1, [S1, S2, student("s1", "Niterói")])  # a duplicate record
    assert counts == MergeCounts("dim_student", opened=2)
    assert history(migrated) == [
        ("s1", "Niterói", "Google", EVER, OPEN, True, False, D1),
        ("s2", "Campos", "Google", EVER, OPEN, True, False, D1),
    ]
    # the hash is an md5 of the tracked attributes as a JSON array (state, city, university, course)
    expected = hashlib.md5(
        json.dumps(["Rio de Janeiro", "Niterói", 1, 10], ensure_ascii=False).encode()
    ).hexdigest()
    rows = postgres.fetch_all(
        migrated, "select row_hash from dw.dim_student where city = 'Niterói'"
    )
    assert rows == [(expected,)]


def test_changed_attribute_closes_and_opens_while_untracked_ones_do_not(
    migrated: psycopg.Connection,
) -> None:
    merge(migrated, D1, [S1, S2])
    before = keys(migrated)
    counts = merge(migrated, D2, [S1_MOVED, student("s2", "Campos", signup="Facebook")])
    assert counts == MergeCounts("dim_student", closed=1, opened=1, unchanged=1)
    assert history(migrated) == [
        ("s1", "Niterói", "Google", EVER, D2, False, False, D1),
        ("s1", "Rio de Janeiro", "Google", D2, OPEN, True, False, D2),
        ("s2", "Campos", "Google", EVER, OPEN, True, False, D1),  # signup is not tracked
    ]
    after = keys(migrated)
    assert after[("s2", EVER)] == before[("s2", EVER)]
    assert after[("s1", EVER)] == before[("s1", EVER)]


def test_values_are_compared_and_stored_exactly_as_exported(
    migrated: psycopg.Connection,
) -> None:
    """No trimming anywhere (expectations/README.md, "Values"): a padded city is kept padded,
    a city that changes only by a blank opens a version, 'k' and 'k ' are two students, and a
    blank attribute is 'unknown'."""
    padded = student("k", "  Niterói  ")
    counts = merge(migrated, D1, [padded, student("k ", "Campos"), student("b", "   ")])
    assert counts == MergeCounts("dim_student", opened=3)
    assert history(migrated) == [
        ("b", "unknown", "Google", EVER, OPEN, True, False, D1),
        ("k", "  Niterói  ", "Google", EVER, OPEN, True, False, D1),
        ("k ", "Campos", "Google", EVER, OPEN, True, False, D1),
    ]
    counts = merge(migrated, D2, [student("k", "  Niterói"), student("k ", "Campos"),
                                   student("b", "   ")])  # fmt: skip
    assert counts == MergeCounts("dim_student", closed=1, opened=1, unchanged=2)
    assert history(migrated)[1:3] == [
        ("k", "  Niterói  ", "Google", EVER, D2, False, False, D1),
        ("k", "  Niterói", "Google", D2, OPEN, True, False, D2),
    ]
    # the same record again, byte for byte: nothing changes
    assert merge(
        migrated, D3, [student("k", "  Niterói"), student("k ", "Campos"), student("b", "")]
    ) == MergeCounts(  # fmt: skip
        "dim_student", unchanged=3
    )


def test_missing_student_is_closed_and_flagged_and_returns_as_a_new_version(
    migrated: psycopg.Connection,
) -> None:
    merge(migrated, D1, [S1, S2])
    assert merge(migrated, D3, [S1]) == MergeCounts("dim_student", deleted=1, unchanged=1)
    assert history(migrated)[1:] == [("s2", "Campos", "Google", EVER, D3, False, True, D1)]
    assert postgres.fetch_all(migrated, "select student_id from dw.student_flat") == [("s1",)]

    assert merge(migrated, D4, [S1, S2]) == MergeCounts("dim_student", opened=1, unchanged=1)
    assert history(migrated)[1:] == [
        ("s2", "Campos", "Google", EVER, D3, False, True, D1),
        ("s2", "Campos", "Google", D4, OPEN, True, False, D4),
    ]


def test_rerun_of_a_day_changes_nothing(migrated: psycopg.Connection) -> None:
    merge(migrated, D1, [S1, S2])
    merge(migrated, D2, [S1_MOVED])
    snapshot = postgres.fetch_all(migrated, "select * from dw.dim_student order by student_key")
    assert merge(migrated, D2, [S1_MOVED]) == MergeCounts("dim_student", unchanged=1)
    assert postgres.fetch_all(migrated, "select * from dw.dim_student order by student_key") == (
        snapshot
    )


def test_same_day_rerun_with_other_data_corrects_todays_version_in_place(
    migrated: psycopg.Connection,
) -> None:
    merge(migrated, D1, [S1])
    merge(migrated, D2, [S1_MOVED])
    opened = keys(migrated)[("s1", D2)]
    counts = merge(migrated, D2, [student("s1", "Petrópolis", signup="Facebook")])
    assert counts == MergeCounts("dim_student", corrected=1)
    assert history(migrated) == [
        ("s1", "Niterói", "Google", EVER, D2, False, False, D1),
        ("s1", "Petrópolis", "Facebook", D2, OPEN, True, False, D2),
    ]
    assert keys(migrated)[("s1", D2)] == opened  # same version, no zero-length interval


def test_same_day_rerun_reverting_a_change_restores_the_previous_version(
    migrated: psycopg.Connection,
) -> None:
    merge(migrated, D1, [S1])
    first = keys(migrated)[("s1", EVER)]
    merge(migrated, D2, [S1_MOVED])
    counts = merge(migrated, D2, [S1])
    assert counts == MergeCounts("dim_student", corrected=2)  # removed today's, reopened the old
    assert history(migrated) == [("s1", "Niterói", "Google", EVER, OPEN, True, False, D1)]
    assert keys(migrated)[("s1", EVER)] == first


def test_same_day_rerun_deleting_a_changed_student_flags_the_previous_version(
    migrated: psycopg.Connection,
) -> None:
    merge(migrated, D1, [S1, S2])
    merge(migrated, D2, [S1_MOVED, S2])
    counts = merge(migrated, D2, [S2])
    assert counts == MergeCounts("dim_student", deleted=1, unchanged=1, corrected=1)
    assert history(migrated) == [
        ("s1", "Niterói", "Google", EVER, D2, False, True, D1),
        ("s2", "Campos", "Google", EVER, OPEN, True, False, D1),
    ]


def test_same_day_rerun_undoes_a_deletion_and_a_first_load(migrated: psycopg.Connection) -> None:
    merge(migrated, D1, [S1])
    merge(migrated, D2, [S2])  # s1 deleted, s2 new
    counts = merge(migrated, D2, [S1_MOVED])  # s1 is back (changed), s2 was never there
    assert counts == MergeCounts("dim_student", closed=1, opened=1, corrected=1)
    assert history(migrated) == [
        ("s1", "Niterói", "Google", EVER, D2, False, False, D1),
        ("s1", "Rio de Janeiro", "Google", D2, OPEN, True, False, D2),
    ]


def test_empty_snapshot_is_taken_for_a_missing_export(migrated: psycopg.Connection) -> None:
    merge(migrated, D1, [S1, S2])
    assert merge(migrated, D2, []) == MergeCounts("dim_student")
    assert [row[4] for row in history(migrated)] == [OPEN, OPEN]


def test_an_earlier_day_is_refused(migrated: psycopg.Connection) -> None:
    merge(migrated, D1, [S1])
    merge(migrated, D3, [])  # an empty snapshot writes nothing, so D2 is still allowed
    merge(migrated, D2, [S2])  # s1 deleted on D2
    with pytest.raises(
        DataError, match=r"dw.dim_student already holds history loaded on 2017-11-17"
    ):
        merge(migrated, D1, [S1])


def test_lookup_dimension_keeps_absent_keys_and_versions_renames(
    migrated: psycopg.Connection,
) -> None:
    courses = [{"Id": 10, "Name": "Direito"}, {"Id": "11", "Name": "Letras"}]
    assert merge(migrated, D1, courses, "courses", "dim_course").opened == 2
    counts = merge(
        migrated, D2, [{"Id": "10.0", "Name": "Direito (noturno)"}], "courses", "dim_course"
    )
    assert counts == MergeCounts("dim_course", closed=1, opened=1)
    rows = postgres.fetch_all(
        migrated,
        "select course_id, name, valid_from, valid_to, is_current, is_deleted from dw.dim_course"
        " where course_key <> -1 order by course_id, valid_from",
    )
    assert rows == [
        (10, "Direito", EVER, D2, False, False),
        (10, "Direito (noturno)", D2, OPEN, True, False),
        (11, "Letras", EVER, OPEN, True, False),  # absent from the D2 list: hard_deletes=ignore
    ]
    assert postgres.fetch_all(
        migrated, "select course_id, name from dw.course_current order by 1"
    ) == [
        (10, "Direito (noturno)"),
        (11, "Letras"),
    ]


@pytest.mark.parametrize(
    ("statement", "sqlstate"),
    [
        # a second version overlapping the open one, closed so the current-row index allows it
        ("insert into dw.dim_student (student_id, state, city, signup_source, row_hash,"
         " valid_from, valid_to, is_current, loaded_date) values ('s1', 'x', 'x', 'x', 'h',"
         " '2017-01-01', '2017-02-01', false, '2017-01-01')", "23P01"),
        ("update dw.dim_student set valid_from = valid_to where student_id = 's1'", "23514"),
        ("update dw.dim_student set is_current = true where student_id = 's2'", "23514"),
        ("insert into dw.dim_student (student_id, state, city, signup_source, row_hash,"
         " valid_from, loaded_date) values ('s1', 'x', 'x', 'x', 'h', '2017-11-20', '2017-11-20')",
         "23505"),
    ],
    ids=["overlap", "zero-length", "open-but-closed", "two-current"],
)  # fmt: skip
def test_database_rejects_broken_history(
    migrated: psycopg.Connection, statement: str, sqlstate: str
) -> None:
    merge(migrated, D1, [S1, S2])
    merge(migrated, D2, [S1])  # s2 closed on D2
    with pytest.raises(psycopg.Error) as caught:
        migrated.execute(statement)
    assert caught.value.sqlstate == sqlstate
