"""The fault tests' comparison (tests/canonical.py) sees every difference and says where."""

from __future__ import annotations

import pytest

from tasks.resources.lake import Lake
from tests.canonical import assert_same_state, diff_states, lake_state

BASE = {"dw.dim_student": ['{"student_key" : 1, "city" : "Serra"}'], "analytics/a.csv": ["x,1"]}


def test_equal_states_have_no_diff() -> None:
    assert diff_states(BASE, {k: list(v) for k, v in BASE.items()}) == ""
    assert_same_state(BASE, dict(BASE))


@pytest.mark.parametrize(
    ("actual", "said"),
    [
        ({**BASE, "dw.dim_student": ['{"student_key" : 2, "city" : "Serra"}']}, 'student_key" : 2'),
        ({"analytics/a.csv": ["x,1"]}, "missing: dw.dim_student"),
        ({**BASE, "stage.extra": []}, "unexpected: stage.extra"),
        ({**BASE, "analytics/a.csv": ["x,1", "x,1"]}, "1 rows expected, 2 found"),
    ],
)
def test_a_difference_is_reported_by_name(actual: dict, said: str) -> None:
    assert said in diff_states(BASE, actual)
    with pytest.raises(AssertionError, match="differs from the undisturbed"):
        assert_same_state(BASE, actual)


def test_the_lake_state_reads_every_file_but_temporary_names() -> None:
    lake = Lake("memory://canonical-test")
    for name, data in {"a.csv": b"h\n1\n", ".a.csv.tmp-1": b"half", "sub/b.csv": b"\xff"}.items():
        with lake.open("analytics", name, "wb") as out:
            out.write(data)
    assert lake_state(lake) == {"analytics/a.csv": ["h", "1"], "analytics/sub/b.csv": ["\\xff"]}
