"""`python -m bench`: every benchmark of pdbi from one entry point.

Each benchmark returns a row (stage, rows, seconds, floor_seconds, ratio, ...) measured against
a floor taken in the same run; rows are written as JSON with machine facts to bench/results/
(a source checkout's, git-ignored; `./bench-results/` where pdbi is installed from a wheel, or
`--results DIR`) and printed as the Markdown table that BENCHMARKS.md keeps.
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

from bench.dashboard import bench_dashboard, bench_dashboard_days
from bench.generate import bench_generate
from bench.history import bench_as_of, bench_replay
from bench.lake import bench_lake
from bench.memory import PeakMemory
from bench.merge import bench_merge
from bench.orchestration import bench_orchestration
from bench.pipeline import bench_pipeline
from bench.spark import bench_spark
from bench.stage import bench_stage

BENCHMARKS = {
    "as_of": bench_as_of,
    "dashboard": bench_dashboard,
    "dashboard_days": bench_dashboard_days,
    "generate": bench_generate,
    "lake": bench_lake,
    "merge": bench_merge,
    "orchestration": bench_orchestration,
    "pipeline": bench_pipeline,
    "replay": bench_replay,
    "spark": bench_spark,
    "stage": bench_stage,
}
REPORT_SCALES = (0.25, 1.0, 4.0)
# at the scale their issue set the target: seven days, or thirty, at scale 1 would double the
# report's time
REPORT_SCALE = {"replay": 0.25, "dashboard_days": 0.25}


def default_results(package: Path = Path(__file__).parent) -> Path:
    """bench/results/ in a source checkout (an editable install); installed from a wheel, the
    package's folder sits in site-packages, no place for results: the current folder's."""
    in_checkout = (package.parent / "pyproject.toml").is_file()
    return package / "results" if in_checkout else Path.cwd() / "bench-results"


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
    """The table BENCHMARKS.md keeps. Peak memory is that of the whole benchmark a row belongs
    to (Python, PostgreSQL, Spark JVM and their sum, MB); s/M is seconds per million rows."""
    lines = [
        "| stage | scale | rows | seconds | rows/s | s/M | floor | floor s | ratio "
        "| peak MB (py + pg + jvm = total) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        rate = r["rows"] / r["seconds"] if r["seconds"] else 0
        per_million = r["seconds"] / r["rows"] * 1e6 if r["rows"] else 0
        memory = (
            f"{r['peak_python_mb']:,} + {r['peak_postgres_mb']:,} + {r['peak_spark_jvm_mb']:,} "
            f"= {r['peak_total_mb']:,}"
            if "peak_total_mb" in r
            else ""
        )
        lines.append(
            f"| {r['stage']} | {r.get('scale', '')} | {r['rows']:,} | {r['seconds']:.2f} | "
            f"{rate:,.0f} | {per_million:.1f} | {r.get('floor', '')} | "
            f"{r.get('floor_seconds', 0):.2f} | {r.get('ratio', 0):.2f} | {memory} |"
        )
    return "\n".join(lines)


def plan(
    scales: list[float] | None, only: list[str] | None, report: bool
) -> list[tuple[float, str]]:
    """(scale, benchmark) pairs in the order they run."""
    if report:
        return [(scale, "pipeline") for scale in REPORT_SCALES] + [
            (REPORT_SCALE.get(name, 1.0), name) for name in BENCHMARKS if name != "pipeline"
        ]
    return [(scale, name) for scale in scales or [0.01] for name in only or BENCHMARKS]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scale", type=float, action="append", help="repeatable; default 0.01")
    parser.add_argument("--only", choices=sorted(BENCHMARKS), action="append")
    parser.add_argument(
        "--report",
        action="store_true",
        help="the full report of BENCHMARKS.md: the pipeline at scales "
        f"{', '.join(map(str, REPORT_SCALES))}, every other benchmark at scale 1 but "
        f"{', '.join(f'{n} at {s}' for n, s in REPORT_SCALE.items())} (about 45 minutes on 2 "
        "cores)",
    )
    parser.add_argument(
        "--results",
        type=Path,
        help="folder for the JSON results (default: bench/results/ in a source checkout, "
        "else ./bench-results/)",
    )
    args = parser.parse_args(argv)
    rows: list[dict] = []
    results = (args.results or default_results()).expanduser().resolve()
    results.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = results / f"bench-{stamp}.json"
    for scale, name in plan(args.scale, args.only, args.report):
        print(f"running {name} at scale {scale} ...", file=sys.stderr, flush=True)
        with PeakMemory() as peak:
            result = BENCHMARKS[name](scale)  # one row, or a list of rows
        for row in result if isinstance(result, list) else [result]:
            rows.append({"scale": scale, **row, **peak.as_row()})
        # written after every benchmark: a failure late in a long report keeps what ran
        out.write_text(
            json.dumps({"machine": machine_facts(), "rows": rows}, indent=2, default=str)
        )
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
