"""One file validated chunk by chunk, so that no stage holds a whole file in memory.

A suite's expectations fall in two kinds. Row-level ones (GX column map expectations: not null,
regex, lengths, sets) judge each row on its own: they run on every chunk, their per-row failures
reject rows of that chunk before it is copied, and their chunk results are merged into one
file-level result by the expectation's own GX code (`_validate` over the summed metrics), so
`mostly`, percentages and Data Docs read exactly as if the file had been one batch. Cross-row
ones (uniqueness, table row count, any other kind) need the whole file: the columns they name are
kept, as Arrow arrays, and they run once when the file ends. They can only warn: the rows they
would flag were copied chunks ago, and duplicates are the merge's business (latest wins).
Warnings against a reference list (the day's subject ids) run once per file too, for speed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from great_expectations.constants import MAX_RESULT_RECORDS
from great_expectations.core import ExpectationSuiteValidationResult
from great_expectations.core.expectation_validation_result import ExpectationValidationResult
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.expectation_configuration import parse_result_format
from great_expectations.expectations.registry import get_expectation_impl
from great_expectations.validator.validation_statistics import calc_validation_statistics

from tasks.errors import ConfigError
from tasks.quality.validate import (
    RESULT_FORMAT,
    Verdict,
    columns_of,
    expectations_for,
    label,
    parameters_of,
    run_suite,
    verdict_of,
)
from tasks.stage.batch import Batch

# Column map expectations whose "per row" answer depends on the other rows.
CROSS_ROW = frozenset(
    {"expect_column_values_to_be_unique", "expect_multicolumn_values_to_be_unique"}
)
PARTIAL = parse_result_format(RESULT_FORMAT)["partial_unexpected_count"]


def is_row_level(expectation: dict[str, Any]) -> bool:
    kind = expectation["type"]
    return issubclass(get_expectation_impl(kind), ColumnMapExpectation) and kind not in CROSS_ROW


def per_chunk(expectation: dict[str, Any]) -> bool:
    """Row-level, and worth running per chunk: a warning checked against a reference list
    (`{"$PARAMETER": "ids_of_subjects"}`, thousands of ids) runs once per file instead, as GX
    re-serialises the list several times per validation (seconds each time)."""
    warning = expectation.get("severity", "critical") != "critical"
    return is_row_level(expectation) and not (warning and parameters_of(expectation))


class FileValidation:
    """`add(batch)` per chunk returns the chunk's critical failures (source row -> reasons);
    `finish()` runs the cross-row expectations and returns the file's Verdict."""

    def __init__(self, name: str, source: str, parameters: dict[str, Any] | None = None) -> None:
        self.name, self.source = name, source
        self.given = {k: v for k, v in (parameters or {}).items() if v is not None}
        expectations = expectations_for(name, self.given)
        self.order = [label(e["type"], e["kwargs"]) for e in expectations]
        self.row_level = [e for e in expectations if per_chunk(e)]
        self.file_level = [e for e in expectations if not per_chunk(e)]
        for e in self.file_level:
            if e.get("severity", "critical") == "critical":
                raise ConfigError(
                    f"expectations/{name}.json: {label(e['type'], e['kwargs'])} looks across "
                    "rows, so it cannot be critical (files are validated in chunks and its rows "
                    'were copied already); give it "severity": "warning".'
                )
        self.row_columns = columns_of(self.row_level)
        self.kept: dict[str, list[pa.Array]] = {c: [] for c in columns_of(self.file_level)}
        self.rows: list[np.ndarray] = []
        self.merged = [_Merged(e) for e in self.row_level]
        self.first: ExpectationSuiteValidationResult | None = None
        self.failures: dict[int, list[str]] = {}
        self.warned: set[int] = set()

    def add(self, batch: Batch) -> dict[int, list[str]]:
        """Validate one chunk's row-level expectations; keep the columns cross-row ones need."""
        rows = np.asarray(batch.rows, dtype=np.int64)
        self.rows.append(rows)
        for column, arrays in self.kept.items():
            arrays.append(batch.arrays[column])
        if not self.row_level or not len(rows):
            return {}
        result = run_suite(_frame(batch.arrays, self.row_columns, rows), self.name,
                           self.row_level, self.given)  # fmt: skip
        self.first = self.first or result
        chunk = verdict_of(result, self.name, trim=False)
        for merged, outcome in zip(self.merged, result.results, strict=True):
            merged.add(outcome)
        for row, reasons in chunk.failures.items():
            self.failures[row] = reasons
        self.warned |= chunk.warned
        return chunk.failures

    def finish(self) -> Verdict:
        """The file's verdict: merged row-level outcomes, then the cross-row ones."""
        rows = np.concatenate(self.rows) if self.rows else np.empty(0, np.int64)
        outcomes = {m.label: m.result() for m in self.merged if m.first}
        file_result = None
        if self.file_level or self.first is None:
            # no chunk had a record: the row-level expectations speak for the empty file here
            expectations = self.file_level if self.first else self.row_level + self.file_level
            arrays = {
                c: pa.chunked_array(self.kept.get(c, []), pa.string())
                for c in columns_of(expectations)
            }
            file_result = run_suite(_frame(arrays, list(arrays), rows), self.name,
                                    expectations, self.given)  # fmt: skip
            file_verdict = verdict_of(file_result, self.name, trim=False)
            self.failures.update(file_verdict.failures)  # row-level ones of an empty file only
            self.warned |= file_verdict.warned
            for outcome in file_result.results:
                outcomes[
                    label(outcome.expectation_config.type, outcome.expectation_config.kwargs)
                ] = outcome
        base = self.first or file_result
        assert base is not None
        results = [outcomes[what] for what in self.order if what in outcomes]
        statistics = calc_validation_statistics(results)
        combined = ExpectationSuiteValidationResult(
            results=results,
            success=statistics.success,
            suite_name=base.suite_name,
            statistics={
                "evaluated_expectations": statistics.evaluated_expectations,
                "successful_expectations": statistics.successful_expectations,
                "unsuccessful_expectations": statistics.unsuccessful_expectations,
                "success_percent": statistics.success_percent,
            },
            meta=base.meta,
            batch_id=base.batch_id,
        )
        verdict = verdict_of(combined, self.name)
        return Verdict(
            verdict.suite, verdict.success, len(rows), self.failures, frozenset(self.warned),
            verdict.unexpected, verdict.broken, verdict.result,
        )  # fmt: skip


def validate_batch(batch: Batch, name: str, parameters: dict[str, Any] | None = None) -> Verdict:
    """A whole batch as one chunk: for tests and small files."""
    validation = FileValidation(name, batch.source, parameters)
    validation.add(batch)
    return validation.finish()


def _frame(arrays: dict[str, Any], columns: list[str], rows: np.ndarray) -> pd.DataFrame:
    """Columns as pandas categoricals (GX filters the frame once per metric; integer codes are
    cheaper to take than strings), indexed by source row so results name rows directly."""
    return pd.DataFrame(
        {c: pd.Categorical(arrays[c].dictionary_encode().to_pandas()) for c in columns},
        index=pd.Index(rows, dtype="int64"),
    )


class _Merged:
    """One row-level expectation's outcomes over the chunks, summed back into GX's own result."""

    def __init__(self, expectation: dict[str, Any]) -> None:
        self.label = label(expectation["type"], expectation["kwargs"])
        self.first: ExpectationValidationResult | None = None
        self.raised: ExpectationValidationResult | None = None
        self.elements = self.missing = self.unexpected = 0
        self.values: list[Any] = []  # GX keeps the first MAX_RESULT_RECORDS unexpected values
        self.index: list[int] = []  # and pdbi the rows of the first PARTIAL, for Data Docs

    def add(self, outcome: ExpectationValidationResult) -> None:
        self.first = self.first or outcome
        if outcome.exception_info.get("raised_exception"):
            self.raised = self.raised or outcome
            return
        result = outcome.result
        self.elements += result["element_count"]
        self.missing += result.get("missing_count") or 0
        self.unexpected += result["unexpected_count"]
        self.values.extend(result["unexpected_list"][: MAX_RESULT_RECORDS - len(self.values)])
        self.index.extend(result["unexpected_index_list"][: PARTIAL - len(self.index)])

    def result(self) -> ExpectationValidationResult:
        """The expectation's own `_validate` on the summed metrics: success under `mostly`,
        percentages and partial lists come out as GX computes them for one batch."""
        if self.raised is not None:
            return self.raised
        outcome = self.first
        assert outcome is not None
        config = outcome.expectation_config
        expectation = config.to_domain_obj()
        metric = expectation.map_metric
        metrics = {
            "table.row_count": self.elements,
            "column_values.nonnull.unexpected_count": self.missing,
            f"{metric}.unexpected_count": self.unexpected,
            f"{metric}.unexpected_values": self.values,
            f"{metric}.unexpected_index_list": self.index,
        }
        merged = expectation._validate(metrics, {"result_format": RESULT_FORMAT})
        return ExpectationValidationResult(
            success=merged["success"], expectation_config=config, result=merged["result"],
            exception_info=outcome.exception_info, meta=outcome.meta,
        )  # fmt: skip
