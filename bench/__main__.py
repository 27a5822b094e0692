"""`python -m bench`: every benchmark of pdbi from one entry point.

Each benchmark returns a row (stage, rows, seconds, floor_seconds, ratio, ...) measured against
a floor taken in the same run; rows are written as JSON with machine facts to bench/results/
and printed as the Markdown table that BENCHMARKS.md keeps.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from bench.dashboard import bench_dashboard
from bench.generate import bench_generate
from bench.lake import bench_lake
from bench.merge import bench_merge
from bench.orchestration import bench_orchestration
from bench.pipeline import bench_pipeline
from bench.spark import bench_spark
from bench.stage import bench_stage

BENCHMARKS = {
    "dashboard": bench_dashboard,
    "generate": bench_generate,
    "lake": bench_lake,
    "merge": bench_merge,
    "orchestration": bench_orchestration,
    "pipeline": bench_pipeline,
    "spark": bench_spark,
    "stage": bench_stage,
}
RESULTS = Path(__file__).parent / "results"


def machine_facts() -> dict:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    versions = {p: metadata.version(p) for p in ("prefect", "pyspark", "psycopg", "panel")}
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(memory / 2**30, 1),
        "python": platform.python_version(),
        **versions,
    }


def markdown(rows: list[dict]) -> str:
    lines = [
        "| stage | scale | rows | seconds | rows/s | floor | floor s | ratio |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['stage']} | {r.get('scale', '')} | {r['rows']:,} | {r['seconds']:.2f} | "
            f"{r['rows'] / r['seconds']:,.0f} | {r.get('floor', '')} | "
            f"{r.get('floor_seconds', 0):.2f} | {r.get('ratio', 0):.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scale", type=float, action="append", help="repeatable; default 0.01")
    parser.add_argument("--only", choices=sorted(BENCHMARKS), action="append")
    args = parser.parse_args(argv)
    rows = []
    for scale in args.scale or [0.01]:
        for name in args.only or BENCHMARKS:
            print(f"running {name} at scale {scale} ...", file=sys.stderr, flush=True)
            result = BENCHMARKS[name](scale)  # one row, or a list of rows
            for row in result if isinstance(result, list) else [result]:
                rows.append({"scale": scale, **row})
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"bench-{stamp}.json"
    out.write_text(json.dumps({"machine": machine_facts(), "rows": rows}, indent=2, default=str))
    print(markdown(rows))
    for r in rows:
        if "overhead_share" in r:
            print(
                f"orchestration at scale {r['scale']}: {r['overhead_seconds']:.2f} s of "
                f"{r['seconds']:.2f} s ({100 * r['overhead_share']:.1f}%) outside the "
                f"{r['task_runs']} task runs"
            )
    print(f"\nmachine: {machine_facts()}\nresults: {out}")


if __name__ == "__main__":
    main()
