"""The state a run leaves behind, in a canonical form that two runs can be compared by.

A fault test runs the pipeline, breaks it, runs it again and asks whether the result is the one
an undisturbed run gives over the same input. The answer must cover everything a reader can
see, so the dump is wide on purpose:
- every base table of the `dw` schema (the warehouse: every row, every version, every surrogate
  key) and of the `stage` schema (what the last load left for the merges), every column, rows
  rendered as JSON text and sorted byte-wise, so neither the physical order nor the locale
  matters;
- every file of the lake's analytics zone (the CSV outputs and manifest.json), line by line.

Left out, and why (each is a fact about one run, not about the data):
- the `meta` schema as a whole: it is the pipeline's diary (load counts per load id, validation
  results with `validated_at`, the manifest of ingested files with `ingested_at`, migrations
  with `applied_at`). A disturbed run rightly leaves an extra entry there (the failed attempt).
- the column `load_id` of the stage tables: it names the run (date plus the Prefect flow run
  id), so a rerun over the same input writes another value into otherwise identical rows.
Nothing in `dw` is excluded: its `loaded_date`, `valid_from` and `valid_to` come from the run
date, not from the clock.
"""

from __future__ import annotations

import difflib
import io
import json
from pathlib import Path

import psycopg
import pyarrow.parquet as pq
from psycopg import sql

from tasks.resources.lake import Lake

SCHEMAS = ("dw", "stage")
RUN_SPECIFIC_COLUMNS = {"stage": {"load_id"}, "dw": set()}
State = dict[str, list[str]]  # "dw.dim_student" or "analytics/full.csv" -> canonical lines


def database_state(conn: psycopg.Connection) -> State:
    """Every table of SCHEMAS as sorted JSON lines, run-specific columns left out."""
    tables = conn.execute(
        "select table_schema, table_name from information_schema.tables"
        " where table_schema = any(%s) and table_type = 'BASE TABLE'"
        " order by table_schema, table_name",
        (list(SCHEMAS),),
    ).fetchall()
    state: State = {}
    for schema, table in tables:
        columns = [
            name
            for (name,) in conn.execute(
                "select column_name from information_schema.columns"
                " where table_schema = %s and table_name = %s order by ordinal_position",
                (schema, table),
            ).fetchall()
            if name not in RUN_SPECIFIC_COLUMNS[schema]
        ]
        pairs = sql.SQL(", ").join(
            sql.SQL("{}, {}").format(sql.Literal(c), sql.Identifier(c)) for c in columns
        )
        query = sql.SQL(
            "select line from (select json_build_object({})::text as line from {}) as t"
            ' order by line collate "C"'
        ).format(pairs, sql.Identifier(schema, table))
        state[f"{schema}.{table}"] = [line for (line,) in conn.execute(query).fetchall()]
    return state


def lake_state(lake: Lake, zones: tuple[str, ...] = ("analytics",)) -> State:
    """Every file of the zones, as text lines (bytes that are not UTF-8 shown escaped)."""
    state: State = {}
    for zone in zones:
        for name in lake.list(zone, "**"):
            if Path(name).name.startswith("."):
                continue  # a temporary name of an interrupted atomic write is no output
            if name.endswith(".parquet"):  # rows, not bytes: the order of tied rows may vary
                table = pq.read_table(io.BytesIO(lake.read_bytes(zone, name)))
                rows = (json.dumps(r, sort_keys=True, default=str) for r in table.to_pylist())
                state[f"{zone}/{name}"] = sorted(rows)
                continue
            text = lake.read_bytes(zone, name).decode("utf-8", errors="backslashreplace")
            state[f"{zone}/{name}"] = text.splitlines()
    return state


def canonical_state(conn: psycopg.Connection, lake: Lake) -> State:
    return {**database_state(conn), **lake_state(lake)}


def diff_states(expected: State, actual: State, context: int = 2, limit: int = 60) -> str:
    """A readable diff: per table or file, the rows only one side has, at most `limit` lines."""
    lines: list[str] = []
    for name in sorted(set(expected) | set(actual)):
        if name not in actual:
            lines.append(f"missing: {name} ({len(expected[name])} rows expected)")
            continue
        if name not in expected:
            lines.append(f"unexpected: {name} ({len(actual[name])} rows)")
            continue
        if expected[name] == actual[name]:
            continue
        lines.append(f"{name}: {len(expected[name])} rows expected, {len(actual[name])} found")
        body = difflib.unified_diff(
            expected[name], actual[name], "expected", "actual", n=context, lineterm=""
        )
        lines.extend(f"    {_cut(line)}" for line in list(body)[2:])
    if len(lines) > limit:
        lines = [*lines[:limit], f"... {len(lines) - limit} more lines"]
    return "\n".join(lines)


def _cut(line: str, width: int = 240) -> str:
    return line if len(line) <= width else line[: width - 3] + "..."


def assert_same_state(expected: State, actual: State) -> None:
    """Fail with the diff when two states differ."""
    difference = diff_states(expected, actual)
    assert not difference, "the state differs from the undisturbed run's:\n" + difference


def save_state(state: State, path: Path) -> None:
    """For a look by hand after a failure: the state as one JSON file."""
    path.write_text(json.dumps(state, indent=1, ensure_ascii=False), encoding="utf-8")
