"""Rejected rows: what they were, why, and where they are kept.

Every rejected row goes to two places: meta.rejected_rows in the warehouse (in the load's
transaction, so it exists exactly when the load committed) and quarantine/<day>/<source>.jsonl
in the lake, one JSON line per row with the exact record, written also when a load fails so that
the operator can see what made it fail.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from tasks.entities import Entity
from tasks.quality.validate import sanitize
from tasks.resources import postgres
from tasks.resources.lake import Lake


@dataclass(frozen=True, slots=True)
class Reject:
    """A rejected row, kept as the file's text until it is written: a load holds every reject
    of its file (the 23,019 of a scale-1 follows file: 16.3 MB as parsed records, 5.4 MB so)."""

    source_row: int
    reasons: list[str]  # failed expectations, and the checks made while reading
    text: str | None  # the row as the file held it
    is_json: bool = True  # False: a line that is not JSON

    @property
    def record(self) -> Any:
        """What the file held: a record, another JSON value, or a line that is not JSON."""
        if self.text is None or not self.is_json:
            return self.text
        try:
            return json.loads(self.text)
        except ValueError:  # not JSON after all (a malformed line): its text
            return self.text


def quarantine_name(entity: Entity, run_date: date) -> str:
    return f"{run_date.isoformat()}/{entity.name}.jsonl"


def write_rejects(
    conn: psycopg.Connection,
    entity: Entity,
    rejects: list[Reject],
    source: str,
    load_id: str,
    run_date: date,
) -> None:
    """Replace this load's rejected rows of the file in meta.rejected_rows (a retry replaces)."""
    params = {"load_id": load_id, "source_file": source}
    conn.execute(postgres.read_sql("meta/rejected_rows_clear.sql"), params)
    with conn.cursor() as cur, cur.copy(postgres.read_sql("meta/rejected_rows_copy.sql")) as copy:
        copy.set_types(["text", "date", "text", "text", "int8", "text[]", "jsonb"])
        for r in rejects:
            row = (load_id, run_date, entity.name, source, r.source_row, r.reasons)
            copy.write_row((*row, Jsonb(sanitize(r.record))))


def write_quarantine(
    lake: Lake, entity: Entity, run_date: date, load_id: str, rejects: list[tuple[str, Reject]]
) -> None:
    """quarantine/<day>/<source>.jsonl from (source file, reject) pairs. Written when there are
    rejects, or to empty an earlier run's file of the same day."""
    name = quarantine_name(entity, run_date)
    if not rejects and not lake.exists("quarantine", name):
        return
    with lake.write_atomic("quarantine", name) as out:
        for source, r in rejects:
            line = {
                "source_file": source,
                "source_row": r.source_row,
                "load_id": load_id,
                "failed_expectations": r.reasons,
                "record": r.record,
            }
            try:
                out.write(json.dumps(line, ensure_ascii=False).encode() + b"\n")
            except UnicodeEncodeError:  # a lone surrogate: escaped, still exact
                out.write(json.dumps(line).encode() + b"\n")
