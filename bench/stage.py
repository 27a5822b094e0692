"""Stage loads end to end, from the JSON file in the lake to committed stage rows.

For students (200,000 rows at scale 1) and sessions (1,000,000): `stage_source` timed whole
(parse, Great Expectations validation, COPY, rejects, counts, commit), with the validation on a
row of its own. The floor is `psql \\copy` of the same stage rows from a CSV prepared beforehand;
the original project's approach, one INSERT per row, is timed on a sample and extrapolated.
`ratio` is seconds over the floor's seconds: 2.0 means half the floor's throughput.
"""

from __future__ import annotations

import csv
import os
import subprocess
import tempfile
import time
from datetime import date
from itertools import islice
from pathlib import Path
from typing import Any

DAY = date(2017, 11, 16)
BENCHED = ("students", "sessions")
INSERT_SAMPLE = 20_000
FLOOR = "psql \\copy of the same rows from a prepared CSV"


def bench_stage(scale: float, seed: int = 7) -> list[dict]:
    """Generate a day into a fresh lake and database, then time each benched entity's load."""
    with tempfile.TemporaryDirectory(prefix="pdbi-bench-stage-") as tmp:
        os.environ["PDBI_LAKE_URL"] = f"{tmp}/lake"
        os.environ["PDBI_DATA_DIR"] = f"{tmp}/data"
        from tasks.resources import lake as lake_module
        from tasks.resources import postgres
        from tasks.settings import get_settings

        get_settings.cache_clear()
        lake_module._lake_for.cache_clear()
        postgres.database_url.cache_clear()
        from tasks.generator.day import generate

        generate(lake_module.get_lake(), scale=scale, seed=seed, run_date=DAY)
        with postgres.connect() as conn:
            postgres.apply_migrations(conn)
        try:
            return [row for name in BENCHED for row in _bench_entity(name, Path(tmp))]
        finally:
            if get_settings().database_url is None:
                postgres.stop_embedded()


def _bench_entity(name: str, tmp: Path) -> list[dict]:
    from tasks.entities import ENTITIES
    from tasks.stage.load import stage_source

    entity = ENTITIES[name]
    _warm_up(entity)
    started = time.perf_counter()
    (load,) = stage_source(entity, DAY, f"bench-{name}")
    seconds = time.perf_counter() - started
    prepared = tmp / f"{name}.csv"
    _export(name, entity.stage_columns, prepared)
    floor = _psql_copy(name, entity.stage_columns, prepared)
    counts, split = load.counts, load.seconds
    inserts = _insert_per_row(name, entity.stage_columns, prepared, counts.rows_loaded)
    common = {"floor": FLOOR, "floor_seconds": floor, "rows_loaded": counts.rows_loaded}
    return [
        {
            "stage": f"stage {name}: end to end",
            "rows": counts.rows_read,
            "seconds": seconds,
            **common,
            "ratio": seconds / floor,
            "floor_share": floor / seconds,  # the target is at least 0.5
            "rows_rejected": counts.rows_rejected,
            **{f"{part}_seconds": round(s, 3) for part, s in split.items()},
        },
        {
            "stage": f"stage {name}: GX validation alone",
            "rows": counts.rows_read,
            "seconds": split["validate"],
            **common,
            "ratio": split["validate"] / floor,
        },
        {
            "stage": f"stage {name}: end to end without validation",
            "rows": counts.rows_read,
            "seconds": seconds - split["validate"],
            **common,
            "ratio": (seconds - split["validate"]) / floor,
        },
        {
            "stage": f"stage {name}: one INSERT per row (from {INSERT_SAMPLE:,})",
            "rows": counts.rows_loaded,
            "seconds": inserts,
            **common,
            "ratio": inserts / floor,
        },
    ]


def _warm_up(entity: Any) -> None:
    """GX builds its metric registry on first use (seconds): pay it before the clock starts."""
    from tasks.stage.batch import read_batch
    from tasks.stage.file_validation import validate_batch

    record = {key: None for key in entity.columns}
    validate_batch(read_batch(entity, [(1, record)], "warm-up"), entity.name)


def _export(name: str, columns: list[str], path: Path) -> None:
    """The stage rows just loaded, as the CSV the floor copies back."""
    from psycopg import sql

    from tasks.resources import postgres

    query = sql.SQL("copy (select {} from {}) to stdout (format csv)").format(
        sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier("stage", name)
    )
    with postgres.connect() as conn, conn.cursor() as cur, open(path, "wb") as out:  # noqa: SIM117
        with cur.copy(query) as copy:
            for block in copy:
                out.write(block)


def _scratch_table(name: str) -> str:
    """An empty copy of stage.<name> for the floor and the INSERT sample."""
    from psycopg import sql

    from tasks.resources import postgres

    table = f"bench_{name}"
    with postgres.connect() as conn:
        conn.execute(sql.SQL("drop table if exists {}").format(sql.Identifier("public", table)))
        conn.execute(
            sql.SQL("create table {} (like {})").format(
                sql.Identifier("public", table), sql.Identifier("stage", name)
            )
        )
    return table


def _psql_copy(name: str, columns: list[str], path: Path) -> float:
    from tasks.resources import postgres

    table = _scratch_table(name)
    command = f"\\copy public.{table} ({', '.join(columns)}) from '{path}' with (format csv)"
    started = time.perf_counter()
    subprocess.run(
        ["psql", postgres.database_url(), "-v", "ON_ERROR_STOP=1", "-q", "-c", command],
        check=True,
    )
    return time.perf_counter() - started


def _insert_per_row(name: str, columns: list[str], path: Path, total: int) -> float:
    """Seconds one INSERT per row would take for `total` rows, from a timed sample."""
    from psycopg import sql

    from tasks.resources import postgres

    table = _scratch_table(name)
    with open(path, newline="", encoding="utf-8") as handle:
        sample = [[v or None for v in row] for row in islice(csv.reader(handle), INSERT_SAMPLE)]
    statement = sql.SQL("insert into {} ({}) values ({})").format(
        sql.Identifier("public", table),
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(", ").join([sql.Placeholder()] * len(columns)),
    )
    with postgres.connect() as conn, conn.cursor() as cur:
        started = time.perf_counter()
        for row in sample:
            cur.execute(statement, row)
        conn.commit()
        seconds = time.perf_counter() - started
    return seconds * total / len(sample)


if __name__ == "__main__":
    import sys

    for row in bench_stage(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0):
        print(row)
