"""A file validated in chunks says exactly what GX says of the whole file as one batch.

The oracle is GX itself on the whole frame; the chunked path merges chunk results through each
expectation's own code. Every suite of the project, on rows that break each of its rules.
"""

from __future__ import annotations

import json
import random
from itertools import islice

import numpy as np
import pytest

from tasks.entities import ENTITIES, SOURCES
from tasks.errors import ConfigError
from tasks.quality.validate import expectations_for, parameter_names, run_suite, verdict_of
from tasks.stage.batch import Batch, read_batch
from tasks.stage.file_validation import FileValidation, _frame

# Per stage column: values that pass, values that break something, and None.
POOL = {
    "id": ["1", "2", "3", "42", "42", " 7 ", "x9", "unknown", "", "a" * 70, None],
    "name": ["Cálculo", "Física", "n" * 301, "", None],
    "student_id": ["s1", "s2", "s3", "s3", "s" * 65, "", None],
    "subject_id": ["1", "2", "3", "999", "1.0", "one", None],
    "session_start_time": ["2017-11-16 10:00:00", "2017-11-16", "2017-02-30", "bad", None],
    "payment_date": ["2017-11-16 10:00:00", "2017-13-01", None],
    "follow_date": ["2017-11-16 10:00:00", "2017-11-16", "16/11/2017", None],
    "registered_date": ["2017-11-16 10:00:00", "yesterday", None],
    "student_client": ["Website", "Webapp", "Android", "iOS", "Foo", None],
    "plan_type": ["Mensal", "Anual", "Weekly", "p" * 101, None],
    "state": ["São Paulo", "Bahia", "Texas", None],
    "city": ["Recife", "c" * 201, None],
    "university_id": ["1", "2", "7", "x", None],
    "course_id": ["1", "3", "8", None],
    "signup_source": ["Google", "Orgânico", "TikTok", None],
    "uuid": ["u1", "u2", "u2", "u" * 65, None],
    "at": ["2017-11-16T10:00:00", "2017-11-31", None],
    "student_id_client_type": ["s1@Website", "s2@iOS", "s3@Fax", "nope", None],
    "custom_4": ["Core User", "NewUser", "Other", None],
    "country": ["BR", "Brazil", None],
    "nth": ["1", "2.0", "x", None],
    "clv_total": ["10", "-3", "1e3", None],
    "device_new": ["true", "false", "maybe", None],
    "platform": ["Web", "iOS", "Fax", None],
}
PARAMETERS = {"ids_of_subjects": ["1", "2", "3"], "ids_of_universities": ["1", "2"],
              "ids_of_courses": ["1", "3"]}  # fmt: skip


def _records(name: str, n: int, seed: int) -> list[tuple[int, dict]]:
    rng = random.Random(seed)
    entity = SOURCES[name]
    # a stretch of all-null values and a stretch of clean ones, so some chunks see only those
    return [
        (row, {key: None if 20 <= row < 35 else rng.choice(POOL.get(column, ["v", None]))
               for key, column in entity.columns.items()})
        for row in range(1, n + 1)
    ]  # fmt: skip


def _given(name: str) -> dict:
    wanted = {r["$PARAMETER"] for refs in parameter_names(name).values() for r in refs.values()}
    return {k: v for k, v in PARAMETERS.items() if k in wanted}


def _comparable(verdict) -> dict:
    result = verdict.result
    # in the suite's order here; GX orders one batch's results its own way
    results = sorted(result["results"], key=lambda r: json.dumps(r["expectation_config"]))
    return {"success": result["success"], "statistics": result["statistics"], "results": results,
            "failures": verdict.failures, "warned": verdict.warned, "rows": verdict.rows,
            "unexpected": verdict.unexpected}  # fmt: skip


@pytest.mark.parametrize("name", sorted(ENTITIES))  # the events are validated in Spark
@pytest.mark.parametrize("chunk", [16, 97, 1000])
def test_chunked_verdict_equals_gx_on_the_whole_file(name: str, chunk: int) -> None:
    entity, given = SOURCES[name], _given(name)
    records = _records(name, 300, seed=len(name) * chunk)
    whole = read_batch(entity, records, name)
    expected = verdict_of(
        run_suite(
            _frame(whole.arrays, list(whole.arrays), whole_rows(whole)),
            name, expectations_for(name, given), given,
        ),
        name,
    )  # fmt: skip
    validation = FileValidation(name, name, given)
    it = iter(records)
    while part := list(islice(it, chunk)):
        validation.add(read_batch(entity, part, name))
    got = validation.finish()
    assert _comparable(got) == _comparable(expected)
    assert got.failures, "the pool breaks a critical expectation"


def whole_rows(batch: Batch) -> np.ndarray:
    return np.asarray(batch.rows, dtype=np.int64)


def test_an_empty_file_is_judged_by_every_expectation() -> None:
    validation = FileValidation("sessions", "sessions.json", {})
    got = validation.finish()
    names = [r["expectation_config"]["type"] for r in got.result["results"]]
    assert len(names) == len(expectations_for("sessions", {}))
    assert got.rows == 0 and not got.failures


def test_a_critical_cross_row_expectation_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import tasks.stage.file_validation as fv

    suite = [dict(e) for e in expectations_for("students")]
    for e in suite:
        if e["type"] == "expect_column_values_to_be_unique":
            e["severity"] = "critical"
    monkeypatch.setattr(fv, "expectations_for", lambda name, given=None: suite)
    with pytest.raises(ConfigError, match=r"students\.json.*to_be_unique\(id\).*warning"):
        FileValidation("students", "students.json", {})
