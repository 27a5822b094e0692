"""Great Expectations judges each file where its rows are: in PostgreSQL, by GX's SQL engine.

Each source has a suite in `expectations/<name>.json` (GX 1.x format, reviewed as JSON, never
written in Python). A stage load COPYs a file into its UNLOGGED landing table and lends its open
connection to GX (tasks/resources/lent_connection.py): GX's SQL data source validates the landing
table inside the load's transaction, so nothing is committed before the suite has spoken and no
row leaves the database to be judged. GX reports in a light result format (counts per
expectation, a few example values); the rows a `critical` expectation rejects are found by SQL
generated from the same expectations and taken out before the move (tasks/quality/split.py),
and the load checks that both count the same rows per expectation.

An expectation's `severity` says what a failure does: `critical` rejects every row it flags;
`warning` and `info` are measured and reported (Data Docs, meta.validation_results) but the rows
load. Rows rejected above the suite's threshold fail the file as a DataError.
"""

from __future__ import annotations

import json
import warnings
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import great_expectations as gx
import psycopg
from great_expectations.core import ExpectationSuiteValidationResult
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)

from tasks.errors import ConfigError
from tasks.resources import lent_connection
from tasks.settings import get_settings

EXPECTATIONS_DIR = Path(__file__).resolve().parents[2] / "expectations"
# Counts per expectation and up to 20 example values; no per-row lists (see split.py).
RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": 0}
PER_ROW_KEYS = ("unexpected_list", "unexpected_index_list", "unexpected_index_query")


@dataclass(frozen=True)
class Verdict:
    """What a suite said about one file."""

    suite: str
    success: bool  # every expectation met, whatever its severity
    rows: int  # rows GX evaluated (the landed rows)
    unexpected: dict[str, int] = field(default_factory=dict)  # expectation -> rows flagged
    broken: list[str] = field(default_factory=list)  # expectations GX could not evaluate
    result: dict[str, Any] = field(default_factory=dict)  # GX result without per-row lists


@lru_cache(maxsize=16)
def _definition(name: str) -> str:
    path = EXPECTATIONS_DIR / f"{name}.json"
    if not path.exists():
        raise ConfigError(f"expectations/{name}.json is missing: every source needs its suite")
    return path.read_text(encoding="utf-8")


def suite_definition(name: str) -> dict[str, Any]:
    """The suite as its JSON file spells it (a fresh copy)."""
    return json.loads(_definition(name))


def expectations_for(name: str, given: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The suite's expectations as its JSON spells them. With `given` parameters, expectations
    whose parameter has no value are left out: a check against a reference file that is missing
    is not evaluated rather than failed."""
    expectations = suite_definition(name)["expectations"]
    if given is None:
        return expectations
    return [e for e in expectations if parameters_of(e) <= given.keys()]


def load_suite(name: str, expectations: list[dict[str, Any]] | None = None) -> gx.ExpectationSuite:
    """A fresh ExpectationSuite object (suites are never shared between threads), of all the
    suite's expectations or of those given."""
    definition = suite_definition(name)
    if expectations is not None:
        definition["expectations"] = expectations
    return gx.ExpectationSuite(**definition)


def parameters_of(expectation: dict[str, Any]) -> set[str]:
    return {
        value["$PARAMETER"]
        for value in expectation["kwargs"].values()
        if isinstance(value, dict) and "$PARAMETER" in value
    }


def parameter_names(name: str) -> dict[str, dict[str, Any]]:
    """Suite parameters the suite refers to (`{"$PARAMETER": "ids_of_subjects"}`), by
    expectation label and keyword, so the caller can supply them and results can show them."""
    found: dict[str, dict[str, Any]] = {}
    for expectation in suite_definition(name)["expectations"]:
        for key, value in expectation["kwargs"].items():
            if isinstance(value, dict) and "$PARAMETER" in value:
                found.setdefault(label(expectation["type"], expectation["kwargs"]), {})[key] = value
    return found


def label(kind: str, kwargs: dict[str, Any]) -> str:
    """`expect_column_values_to_not_be_null(id)`: the reason a row carries."""
    columns = kwargs.get("column_list") or [
        kwargs[k] for k in ("column", "column_A", "column_B") if kwargs.get(k)
    ]
    return f"{kind}({','.join(columns)})" if columns else kind


def reject_threshold(name: str) -> float:
    """PDBI_REJECT_THRESHOLDS[name], else the suite's `meta.reject_threshold`, else
    PDBI_REJECT_THRESHOLD."""
    settings = get_settings()
    if name in settings.reject_thresholds:
        return settings.reject_thresholds[name]
    declared = suite_definition(name).get("meta", {}).get("reject_threshold")
    return settings.reject_threshold if declared is None else float(declared)


def suite_columns(name: str) -> list[str]:
    """The columns the suite looks at, in the order it first names them."""
    return columns_of(suite_definition(name)["expectations"])


def columns_of(expectations: list[dict[str, Any]]) -> list[str]:
    columns: dict[str, None] = {}
    for expectation in expectations:
        kwargs = expectation["kwargs"]
        for column in kwargs.get("column_list") or [
            kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs
        ]:
            columns[column] = None
    return list(columns)


def validate_table(
    conn: psycopg.Connection,
    table: str,
    name: str,
    given: dict[str, Any],
    result_format: dict[str, Any] | None = None,
) -> Verdict:
    """GX's verdict on a stage table the load's connection sees (its landing table), by
    GX's SQL engine on that very connection and transaction. `given`: the suite parameters
    (`ids_of_<source>`); expectations whose parameter is missing are left out. `result_format`:
    GX's, RESULT_FORMAT unless a benchmark compares another."""
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        progress_bars=ProgressBarsConfig(globally=False),
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    with warnings.catch_warnings():  # the generic SQL source is the one that takes an engine's
        warnings.filterwarnings("ignore", message="You are using a generic SQLDatasource")
        source = context.data_sources.add_sql(
            name,
            connection_string=lent_connection.URL,
            kwargs=lent_connection.engine_options(conn),
        )
    suite = load_suite(name, expectations_for(name, given))
    with lent_connection.lent_to_gx(conn, "stage"):
        asset = source.add_table_asset(name, table_name=table)
        batch = asset.add_batch_definition_whole_table(name).get_batch()
        result = batch.validate(
            suite, result_format=result_format or RESULT_FORMAT, expectation_parameters=given
        )
    return verdict_of(result, name)


def verdict_of(result: ExpectationSuiteValidationResult, name: str) -> Verdict:
    """Counts per expectation, the expectations that raised, and the result as JSON."""
    unexpected: dict[str, int] = {}
    broken: list[str] = []
    rows = 0
    for outcome in result.results:
        config = outcome.expectation_config
        what = label(config.type, config.kwargs)
        rows = max(rows, outcome.result.get("element_count") or 0)
        if outcome.exception_info.get("raised_exception"):
            broken.append(f"{what} raised {outcome.exception_info.get('exception_message')}")
        elif outcome.result.get("unexpected_count") is not None:
            unexpected[what] = int(outcome.result["unexpected_count"])
        elif config.type == "unexpected_rows_expectation":  # counts the rows its query returns
            unexpected[what] = int(outcome.result.get("observed_value") or 0)
        if config.type == "expect_table_row_count_to_be_between":
            rows = max(rows, outcome.result.get("observed_value") or 0)
    return Verdict(name, bool(result.success), rows, unexpected, broken, _trim(result, name))


def _trim(result: Any, name: str) -> dict[str, Any]:
    """The result as JSON without per-row lists, parameters shown by name, not by value."""
    parameters = parameter_names(name)
    for outcome in result.results:
        for key in PER_ROW_KEYS:
            outcome.result.pop(key, None)
        config = outcome.expectation_config
        for key, reference in parameters.get(label(config.type, config.kwargs), {}).items():
            config.kwargs[key] = reference
    return sanitize(result.to_json_dict())


def sanitize(value: Any) -> Any:
    """JSON that PostgreSQL's jsonb accepts: a NUL becomes the text \\u0000, a lone surrogate
    its escape. The quarantine file keeps the exact value."""
    if isinstance(value, str):
        if value.isascii() and "\x00" not in value:
            return value
        return value.replace("\x00", "\\u0000").encode("utf-8", "backslashreplace").decode()
    if isinstance(value, dict):
        return {sanitize(k): sanitize(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [sanitize(v) for v in value]
    return value


def over_threshold(
    source: str, name: str, read: int, reasons: dict[int, list[str]], threshold: float
) -> str | None:
    """Why the file fails when more of its rows were rejected than the suite allows, else None."""
    rejected = len(reasons)
    if read == 0 or rejected / read <= threshold:
        return None
    top = Counter(reason for row in reasons.values() for reason in row).most_common(3)
    listed = "; ".join(f"{reason} ({count:,} row{'s' * (count != 1)})" for reason, count in top)
    return (
        f"{source}: {rejected:,} of {read:,} rows ({rejected / read:.2%}) failed the {name} "
        f"suite, above its {threshold:.2%} reject threshold, so stage.{name} was left as it "
        f"was. Top failing expectations: {listed}."
    )
