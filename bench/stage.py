"""Stage loads end to end, from the JSON file in the lake to committed stage rows.

For students (200,000 rows at scale 1), sessions and student_follow_subject (1,000,000 each):
`stage_source` timed whole (parse into Arrow, landing COPY, GX validation in the database, the
SQL split, the move to stage, rejects, counts, commit), then its parts on rows of their own. The
floor is `psql \\copy` of the same stage rows from a CSV prepared beforehand, in the same run;
`ratio` is seconds over the floor's seconds (the target: at most 2). Peak memory is sampled
during each load alone (this process and the embedded PostgreSQL), so scales can be compared.

Two ways of finding the rejected rows are compared on the same landing table: GX asked for every
failing row (`COMPLETE` with `unexpected_index_column_names=["source_row"]`), and GX in the light
format the load uses plus the split SQL generated from the suite's critical expectations.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from bench.memory import PeakMemory

DAY = date(2017, 11, 16)
BENCHED = ("students", "sessions", "student_follow_subject")
FLOOR = "psql \\copy of the same rows from a prepared CSV"
COMPLETE = {
    "result_format": "COMPLETE",
    "unexpected_index_column_names": ["source_row"],
    "partial_unexpected_count": 10**9,  # GX's SQL engine cuts the row list there
    "return_unexpected_index_query": False,
}


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
            _warm_up()
            return [row for name in BENCHED for row in _bench_entity(name, Path(tmp))]
        finally:
            if get_settings().database_url is None:
                postgres.stop_embedded()


def _bench_entity(name: str, tmp: Path) -> list[dict]:
    from tasks.entities import ENTITIES
    from tasks.stage.load import stage_source

    entity = ENTITIES[name]
    with PeakMemory() as peak:
        started = time.perf_counter()
        (load,) = stage_source(entity, DAY, f"bench-{name}")
        seconds = time.perf_counter() - started
    prepared = tmp / f"{name}.csv"
    _export(name, entity.stage_columns, prepared)
    floor = _psql_copy(name, entity.stage_columns, prepared)
    counts, split = load.counts, load.seconds
    memory = peak.as_row()
    common = {"floor": FLOOR, "floor_seconds": floor, "rows_loaded": counts.rows_loaded}
    rows = [
        {
            "stage": f"stage {name}: end to end",
            "rows": counts.rows_read,
            "seconds": seconds,
            **common,
            "ratio": seconds / floor,
            "rows_rejected": counts.rows_rejected,
            "load_peak_python_mb": memory["peak_python_mb"],
            "load_peak_postgres_mb": memory["peak_postgres_mb"],
            **{f"{part}_seconds": round(s, 3) for part, s in split.items()},
        }
    ]
    parts = {
        "parse": "parse into Arrow (DuckDB), beside the COPY",
        "land": "landing COPY",
        "validate": "GX validation in the database",
        "split": "split of the rejected rows (SQL)",
        "move": "move to stage (INSERT ... SELECT)",
        "record": "rejects, counts, reconciliation, history",
    }
    for part, what in parts.items():
        rows.append(
            {
                "stage": f"stage {name}: {what}",
                "rows": counts.rows_read,
                "seconds": split[part],
                **common,
                "ratio": split[part] / floor,
            }  # fmt: skip
        )
    rows += _result_formats(name, common, floor)
    return rows


def _result_formats(name: str, common: dict[str, Any], floor: float) -> list[dict]:
    """GX COMPLETE with every failing row id, against GX's light format plus the SQL split, on
    one landing table in a transaction that is rolled back."""
    from tasks.entities import ENTITIES
    from tasks.quality.split import critical_rules
    from tasks.quality.validate import validate_table
    from tasks.resources import postgres
    from tasks.resources.lake import get_lake
    from tasks.resources.scratch import scratch_folder
    from tasks.stage import land
    from tasks.stage.load import Clock, land_file, reference_ids, source_files

    entity, lake = ENTITIES[name], get_lake()
    (file,) = source_files(lake, entity, DAY)
    given = {k: v for k, v in reference_ids(lake, entity, DAY).items() if v is not None}
    table = land.landing_name(entity)
    timed: dict[str, float] = {}
    with (
        postgres.connect() as conn,
        scratch_folder("bench") as scratch,
        lake.open(entity.zone, file) as handle,
    ):
        spill = land.Spill(scratch / "records.arrow")
        land_file(conn, entity, handle, file, lambda: lake.open(entity.zone, file), spill,
                  Clock())  # fmt: skip
        spill.close()
        with land.parallel_scans(conn):  # as the load does
            started = time.perf_counter()
            complete = validate_table(conn, table, name, given, COMPLETE)
            timed["complete"] = time.perf_counter() - started
            started = time.perf_counter()
            light = validate_table(conn, table, name, given)
            rejected = land.split_rejects(conn, entity, critical_rules(name, given))
            timed["light"] = time.perf_counter() - started
        conn.rollback()
    assert complete.unexpected == light.unexpected  # the same counts either way
    rows = len(rejected)
    return [
        {"stage": f"stage {name}: GX COMPLETE, every failing source_row", "rows": rows,
         "seconds": timed["complete"], **common, "ratio": timed["complete"] / floor},
        {"stage": f"stage {name}: GX light format + SQL split (the load's)", "rows": rows,
         "seconds": timed["light"], **common, "ratio": timed["light"] / floor},
    ]  # fmt: skip


def _warm_up() -> None:
    """GX builds its metric registry on first use (seconds): pay it before the clock starts."""
    from tasks.entities import ENTITIES
    from tasks.quality.validate import validate_table
    from tasks.resources import postgres
    from tasks.stage import land

    with postgres.connect() as conn:
        for name in BENCHED:
            land.empty_landing(conn, ENTITIES[name])
            validate_table(conn, land.landing_name(ENTITIES[name]), name, {})
        conn.rollback()


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
    """An empty copy of stage.<name> for the floor."""
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


if __name__ == "__main__":
    import sys

    for row in bench_stage(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0):
        print(row)
