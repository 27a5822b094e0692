"""The suite's critical expectations as SQL, to take the rows they reject out of a landing table.

GX reports on a file in a light result format (counts per expectation); asking it for the id of
every failing row costs a full pass per expectation and per list. Instead, each critical
expectation becomes the condition GX's SQL engine itself evaluates for it (a NULL for
`expect_column_values_to_not_be_null`; for the others a non-NULL value that breaks the rule, as
GX skips NULLs), and one `SELECT` finds every row that meets any of them, with the
expectations each failed; they leave the landing table by their ctid. The load then checks that
this split and GX counted the same rows per expectation: the SQL here and GX's must never drift
apart unnoticed.

Only row-level expectations can reject rows; a critical expectation of another kind (or with a
`row_condition`) is refused when the suite is loaded, with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from psycopg import sql

from tasks.errors import ConfigError
from tasks.quality.validate import expectations_for, label


@dataclass(frozen=True)
class Rule:
    """One critical expectation: its label (the reason a rejected row carries) and the SQL
    condition that is true exactly for the rows it flags, values as named placeholders."""

    label: str
    condition: sql.Composable
    params: dict[str, Any]


def _not_null(col: sql.Identifier, kw: dict, p: str) -> tuple[sql.Composable, dict]:
    return sql.SQL("{} is null").format(col), {}


def _null(col: sql.Identifier, kw: dict, p: str) -> tuple[sql.Composable, dict]:
    return sql.SQL("{} is not null").format(col), {}


def _regex(col: sql.Identifier, kw: dict, p: str) -> tuple[sql.Composable, dict]:
    return sql.SQL("not ({} ~ {})").format(col, sql.Placeholder(p)), {p: kw["regex"]}


def _not_regex(col: sql.Identifier, kw: dict, p: str) -> tuple[sql.Composable, dict]:
    return sql.SQL("{} ~ {}").format(col, sql.Placeholder(p)), {p: kw["regex"]}


def _in_set(col: sql.Identifier, kw: dict, p: str) -> tuple[sql.Composable, dict]:
    values = [str(v) for v in kw["value_set"]]
    return sql.SQL("not ({} = any({}::text[]))").format(col, sql.Placeholder(p)), {p: values}


def _not_in_set(col: sql.Identifier, kw: dict, p: str) -> tuple[sql.Composable, dict]:
    values = [str(v) for v in kw["value_set"]]
    return sql.SQL("{} = any({}::text[])").format(col, sql.Placeholder(p)), {p: values}


def _lengths(col: sql.Identifier, kw: dict, p: str) -> tuple[sql.Composable, dict]:
    """GX: min <= length <= max (strict_min / strict_max make them < and >)."""
    bounds, params = [], {}
    if kw.get("min_value") is not None:
        op = ">" if kw.get("strict_min") else ">="
        bounds.append(sql.SQL("length({}) " + op + " {}").format(col, sql.Placeholder(p + "min")))
        params[p + "min"] = int(kw["min_value"])
    if kw.get("max_value") is not None:
        op = "<" if kw.get("strict_max") else "<="
        bounds.append(sql.SQL("length({}) " + op + " {}").format(col, sql.Placeholder(p + "max")))
        params[p + "max"] = int(kw["max_value"])
    if not bounds:
        raise ConfigError("expect_column_value_lengths_to_be_between needs min_value or max_value")
    return sql.SQL("not ({})").format(sql.SQL(" and ").join(bounds)), params


Condition = Callable[[sql.Identifier, dict, str], tuple[sql.Composable, dict]]
# expectation type -> (its condition, whether NULL values count as failures, as in GX)
CONDITIONS: dict[str, tuple[Condition, bool]] = {
    "expect_column_values_to_not_be_null": (_not_null, True),
    "expect_column_values_to_be_null": (_null, True),
    "expect_column_values_to_match_regex": (_regex, False),
    "expect_column_values_to_not_match_regex": (_not_regex, False),
    "expect_column_values_to_be_in_set": (_in_set, False),
    "expect_column_values_to_not_be_in_set": (_not_in_set, False),
    "expect_column_value_lengths_to_be_between": (_lengths, False),
}


def critical_rules(name: str, given: dict[str, Any] | None = None) -> list[Rule]:
    """The suite's critical expectations (those `given` parameters leave in) as Rules."""
    rules = []
    for number, expectation in enumerate(expectations_for(name, given)):
        if expectation.get("severity", "critical") != "critical":
            continue
        kind, kwargs = expectation["type"], expectation["kwargs"]
        what = label(kind, kwargs)
        if kind not in CONDITIONS or kwargs.get("row_condition") or "column" not in kwargs:
            raise ConfigError(
                f"expectations/{name}.json: {what} is critical, but only these can reject "
                f"rows: {', '.join(sorted(CONDITIONS))}, on one column, without a "
                'row_condition; give it "severity": "warning" (it is then measured and '
                "reported) or express the rule with one of them."
            )
        if any(isinstance(v, dict) for v in kwargs.values()):
            raise ConfigError(
                f"expectations/{name}.json: {what} is critical but takes a suite parameter; "
                'a check against another file\'s ids can only be a "warning".'
            )
        condition, counts_nulls = CONDITIONS[kind]
        column = sql.Identifier(kwargs["column"])
        flagged, params = condition(column, kwargs, f"r{number}_")
        if not counts_nulls:
            flagged = sql.SQL("({} is not null and {})").format(column, flagged)
        rules.append(Rule(what, flagged, params))
    return rules


MAX_RULES = 62  # one bit each in a bigint


def split_clauses(rules: list[Rule]) -> tuple[sql.Composable, sql.Composable, dict[str, Any]]:
    """(rows any rule flags, a bigint of the rules each row fails (bit i: rules[i]), the bound
    values). A number, not an array of labels: no text array per row to build and send, and
    the few distinct values are decoded once each (`failed_labels`)."""
    if not rules:
        return sql.SQL("false"), sql.SQL("0::bigint"), {}
    if len(rules) > MAX_RULES:
        raise ConfigError(
            f"{len(rules)} critical expectations on one source; the split handles {MAX_RULES}."
        )
    params: dict[str, Any] = {}
    for rule in rules:
        params.update(rule.params)
    failed = sql.SQL(" | ").join(
        sql.SQL("(case when {} then {}::bigint else 0 end)").format(
            rule.condition, sql.Literal(1 << number)
        )
        for number, rule in enumerate(rules)
    )
    flagged = sql.SQL(" or ").join(sql.SQL("({})").format(r.condition) for r in rules)
    return flagged, failed, params


def failed_labels(rules: list[Rule], mask: int) -> list[str]:
    """The labels of the rules a row's mask (from `split_clauses`) says it failed."""
    return [rule.label for number, rule in enumerate(rules) if mask >> number & 1]
