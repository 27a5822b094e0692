"""The events suite, run where the events are analysed: in Spark, on the day's persisted frame.

`expectations/events.json` stays the one definition of the rules; two readers of it here:

- `row_checks` turns each row-level expectation (not null, null, regex, lengths, sets) into a
  Spark column that is true for the rows GX would count as unexpected, with GX's own Spark
  semantics (nulls are not judged except by the null checks; `rlike` is Java's regex; lengths
  are characters). The job evaluates the critical ones once per row, as it reads, to split
  valid rows from rejected ones, and counts every one of them in one pass; a test holds the
  counts equal to GX's `unexpected_count`s on the same frame.
- `validate_day` asks Great Expectations' own Spark execution engine for the report (Data Docs,
  meta.validation_results) in the light SUMMARY format: counts per expectation, no per-row
  lists (field notes: COMPLETE with row ids costs 5 to 10 times more). Example values cost a
  Spark job per expectation even when nothing failed (measured on 250,000 events: 6.1 to 8.3 s
  with ten examples, 2.4 to 2.8 s with none), so they are asked for only where an expectation
  flagged rows, by a second validation of those expectations alone.

An expectation whose `meta.opt_in` is true runs only with PDBI_EVENTS_OPT_IN_CHECKS (the
uniqueness of uuid: nothing needs it and it costs about 70% of a read).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import great_expectations as gx
from great_expectations.core import ExpectationSuiteValidationResult
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.registry import get_expectation_impl
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from tasks.errors import ConfigError
from tasks.quality.validate import columns_of, label, load_suite, suite_definition

SUITE = "events"
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 0}
EXAMPLES = 10  # example values shown for an expectation that flagged rows
CROSS_ROW = frozenset(
    {"expect_column_values_to_be_unique", "expect_multicolumn_values_to_be_unique"}
)
LONGEST_VALUE = 200  # characters of an example value kept in the stored report


def _length_fails(column: Column, kwargs: dict[str, Any]) -> Column:
    """GX's value_length.between on Spark: F.length against min/max, strict or not."""
    length, low, high = F.length(column), kwargs.get("min_value"), kwargs.get("max_value")
    ok = F.lit(True)
    if low is not None:
        ok = ok & ((length > low) if kwargs.get("strict_min") else (length >= low))
    if high is not None:
        ok = ok & ((length < high) if kwargs.get("strict_max") else (length <= high))
    return column.isNotNull() & ~ok


# expectation type -> (column, kwargs) -> "this row is unexpected", as GX's Spark metrics say
_CHECKS: dict[str, Callable[[Column, dict[str, Any]], Column]] = {
    "expect_column_values_to_not_be_null": lambda c, _: c.isNull(),
    "expect_column_values_to_be_null": lambda c, _: c.isNotNull(),
    "expect_column_values_to_match_regex": lambda c, k: c.isNotNull() & ~c.rlike(k["regex"]),
    "expect_column_values_to_not_match_regex": lambda c, k: c.isNotNull() & c.rlike(k["regex"]),
    "expect_column_values_to_be_in_set": lambda c, k: c.isNotNull() & ~c.isin(k["value_set"]),
    "expect_column_values_to_not_be_in_set": lambda c, k: c.isNotNull() & c.isin(k["value_set"]),
    "expect_column_value_lengths_to_be_between": _length_fails,
}


def expectations(opt_in: bool = False) -> list[dict[str, Any]]:
    """The suite's expectations as events.json spells them; opt-in ones only when asked."""
    found = suite_definition(SUITE)["expectations"]
    return [e for e in found if opt_in or not e.get("meta", {}).get("opt_in")]


def columns(found: list[dict[str, Any]]) -> list[str]:
    """The frame columns the expectations name, in the order they first name them."""
    return columns_of(found)


def is_row_level(expectation: dict[str, Any]) -> bool:
    kind = expectation["type"]
    return issubclass(get_expectation_impl(kind), ColumnMapExpectation) and kind not in CROSS_ROW


def row_checks(found: list[dict[str, Any]]) -> dict[str, tuple[str, Column]]:
    """label -> (severity, a column true on the rows the expectation flags), for every
    row-level expectation. A critical expectation must be row-level and of a known kind: it
    decides which rows are loaded, so it cannot be left to GX's report alone."""
    checks: dict[str, tuple[str, Column]] = {}
    for expectation in found:
        kind, kwargs = expectation["type"], expectation["kwargs"]
        what = label(kind, kwargs)
        severity = expectation.get("severity", "critical")
        if kind in _CHECKS and is_row_level(expectation):
            checks[what] = (severity, _CHECKS[kind](F.col(kwargs["column"]), kwargs))
        elif severity == "critical":
            raise ConfigError(
                f"expectations/{SUITE}.json: {what} is critical, but only row-level checks "
                f"({', '.join(sorted(_CHECKS))}) can reject an event; make it a warning."
            )
    return checks


def critical_checks(found: list[dict[str, Any]]) -> dict[str, Column]:
    return {what: fails for what, (sev, fails) in row_checks(found).items() if sev == "critical"}


def validate_day(frame: DataFrame, found: list[dict[str, Any]]) -> ExpectationSuiteValidationResult:
    """GX's Spark engine over the day's frame (already persisted by the job, so GX is told not
    to persist it again), in the SUMMARY result format; the expectations that flagged rows are
    validated again for EXAMPLES example values each, which replace their first results."""
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        progress_bars=ProgressBarsConfig(globally=False),
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    batch = (
        context.data_sources.add_spark(SUITE, persist=False)
        .add_dataframe_asset(SUITE)
        .add_batch_definition_whole_dataframe(SUITE)
        .get_batch(batch_parameters={"dataframe": frame})
    )
    result = batch.validate(load_suite(SUITE, found), result_format=RESULT_FORMAT)
    flagged = {what for what, count in unexpected_counts(result).items() if count}
    if flagged:
        again = [e for e in found if label(e["type"], e["kwargs"]) in flagged]
        examples = {**RESULT_FORMAT, "partial_unexpected_count": EXAMPLES}
        detailed = batch.validate(load_suite(SUITE, again), result_format=examples)
        by_label = {_label_of(r): r for r in detailed.results}
        result.results = [by_label.get(_label_of(r), r) for r in result.results]
    return result


def _label_of(outcome: Any) -> str:
    return label(outcome.expectation_config.type, outcome.expectation_config.kwargs)


def unexpected_counts(result: ExpectationSuiteValidationResult) -> dict[str, int | None]:
    """label -> GX's unexpected_count (None for expectations that count no rows)."""
    return {_label_of(r): r.result.get("unexpected_count") for r in result.results}


def report(result: ExpectationSuiteValidationResult) -> dict[str, Any]:
    """The result as JSON for meta.validation_results and Data Docs, example values cut to
    LONGEST_VALUE characters (a malformed line can be megabytes long)."""
    found = result.to_json_dict()
    for outcome in found.get("results", []):
        outcome["result"] = _shorten(outcome.get("result", {}))
    return found


def broken(result: ExpectationSuiteValidationResult) -> list[str]:
    """Expectations GX could not evaluate: a suite that cannot run is no verdict."""
    return [
        f"{_label_of(r)} raised {r.exception_info.get('exception_message')}"
        for r in result.results
        if r.exception_info.get("raised_exception")
    ]


def _shorten(value: Any) -> Any:
    if isinstance(value, str) and len(value) > LONGEST_VALUE:
        return f"{value[:LONGEST_VALUE]}... ({len(value):,} characters)"
    if isinstance(value, dict):
        return {k: _shorten(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_shorten(v) for v in value]
    return value
