"""The warehouse merges at full size, each against the floor of writing the same rows plainly.

Three stages: the student merge as a first load, the student merge as a second load (5% of the
students changed, 2% new), and the session fact load. Each floor is an `INSERT ... SELECT` of
the rows the table holds after that merge into an empty copy of the table (`LIKE ... INCLUDING
ALL`: same columns, checks and indexes; no triggers, no foreign keys), timed in the same run on
the same database. The day comes from the generator; stage is filled by a plain COPY of the
generated files (the stage loader and its validation are benchmarked elsewhere). The database is
a fresh embedded PostgreSQL in a temporary data folder.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

import psycopg
from psycopg import sql

from tasks.entities import ENTITIES
from tasks.generator.day import generate
from tasks.resources import postgres
from tasks.resources.lake import Lake
from tasks.settings import get_settings
from tasks.warehouse.merge import run_merge_step

DAY = date(2017, 11, 16)
NEXT_DAY = DAY + timedelta(days=1)
CHANGED_EVERY, NEW_EVERY = 20, 50  # 5% changed, 2% new


def bench_merge(scale: float, seed: int = 7) -> list[dict]:
    """Generate a day, load stage, then time each merge and its floor."""
    with tempfile.TemporaryDirectory(prefix="pdbi-bench-merge-") as tmp, _embedded(tmp):
        lake = Lake(f"{tmp}/lake")
        generate(lake, scale=scale, seed=seed, run_date=DAY)
        with postgres.connect() as conn:
            return _measure(conn, lake)


@contextmanager
def _embedded(tmp: str) -> Iterator[None]:
    """A fresh embedded PostgreSQL in `tmp`, whatever the environment says; restored after."""
    saved = {k: os.environ.get(k) for k in ("PDBI_DATA_DIR", "PDBI_DATABASE_URL", "DATABASE_URL")}
    os.environ["PDBI_DATA_DIR"] = f"{tmp}/data"
    os.environ.pop("PDBI_DATABASE_URL", None)
    os.environ.pop("DATABASE_URL", None)
    get_settings.cache_clear()
    postgres.database_url.cache_clear()
    try:
        yield
    finally:
        postgres.stop_embedded()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()
        postgres.database_url.cache_clear()


def _measure(conn: psycopg.Connection, lake: Lake) -> list[dict]:
    postgres.apply_migrations(conn)
    students = _records(lake, "students")
    for name in ENTITIES:
        _stage(conn, name, students if name == "students" else _records(lake, name))
    for step in ("dim_reference", "dim_university", "dim_course", "dim_subject"):
        run_merge_step(conn, step, DAY)
    conn.commit()
    rows = [_timed(conn, "student merge, first load", "dim_student", DAY, len(students))]
    second = _second_snapshot(students)
    _stage(conn, "students", second)
    conn.commit()
    rows.append(
        _timed(conn, "student merge, 5% changed 2% new", "dim_student", NEXT_DAY, len(second))
    )
    sessions = conn.execute("select count(*) from stage.sessions").fetchone()[0]  # type: ignore[index]
    rows.append(_timed(conn, "session fact load", "fct_session", NEXT_DAY, sessions))
    return rows


def _timed(conn: psycopg.Connection, stage: str, step: str, day: date, rows: int) -> dict:
    started = time.perf_counter()
    counts = run_merge_step(conn, step, day)
    conn.commit()
    seconds = time.perf_counter() - started
    table = "dw.dim_student" if step == "dim_student" else f"dw.{step}"
    floor = _floor_seconds(conn, table)
    return {
        "stage": stage,
        "rows": rows,
        "seconds": round(seconds, 3),
        "rows_per_s": round(rows / seconds),
        "floor": f"INSERT ... SELECT into an empty copy of {table}",
        "floor_seconds": round(floor, 3),
        "ratio": round(seconds / floor, 2),
        "counts": {k: v for k, v in vars(counts).items() if v and k != "step"},
    }


def _floor_seconds(conn: psycopg.Connection, table: str) -> float:
    """Write the rows `table` holds into an empty copy of it, in one committed statement."""
    source = sql.Identifier(*table.split("."))
    copy = sql.Identifier("dw", "bench_floor")
    conn.execute(sql.SQL("drop table if exists {}").format(copy))
    conn.execute(sql.SQL("create table {} (like {} including all)").format(copy, source))
    conn.commit()
    started = time.perf_counter()
    conn.execute(sql.SQL("insert into {} select * from {}").format(copy, source))
    conn.commit()
    seconds = time.perf_counter() - started
    conn.execute(sql.SQL("drop table {}").format(copy))
    conn.commit()
    return seconds


def _records(lake: Lake, name: str) -> list[dict]:
    return json.loads(
        lake.read_bytes("transactional", f"{DAY.isoformat()}/{name}.json").decode("utf-8-sig")
    )


def _second_snapshot(students: list[dict]) -> list[dict]:
    """The next day's students: every 20th moved to another city, one new per 50 kept."""
    changed = [
        {**s, "City": f"{s.get('City')} (mudou)"} if i % CHANGED_EVERY == 0 else s
        for i, s in enumerate(students)
    ]
    new = [{**s, "Id": f"{s.get('Id')}-novo"} for s in students[::NEW_EVERY]]
    return changed + new


def _stage(conn: psycopg.Connection, name: str, records: list[dict]) -> None:
    """Replace stage.<name> with the records as text, with lineage, by COPY."""
    entity = ENTITIES[name]
    table = sql.Identifier("stage", name)
    columns = sql.SQL(", ").join(map(sql.Identifier, entity.stage_columns))
    conn.execute(sql.SQL("truncate {}").format(table))
    with (
        conn.cursor() as cur,
        cur.copy(sql.SQL("copy {} ({}) from stdin").format(table, columns)) as copy,
    ):
        for row, record in enumerate(records, start=1):
            values = (record.get(key) for key in entity.columns)
            copy.write_row(
                (*(None if v is None else str(v) for v in values), f"{name}.json", row, "bench")
            )


if __name__ == "__main__":
    import sys

    for result in bench_merge(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0):
        print(result)
