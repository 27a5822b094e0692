"""How fast the dashboard draws in a real browser over a full-size day's analytics outputs.

The outputs are the real ones: `tasks.generator.day` writes the day, the students of its BASE A
export stand in for the warehouse (same columns as `dw.student_flat`), and the Spark job
(`tasks.analytics.job.run_job`) writes every CSV and the manifest into a local lake. The
dashboard is then served by `panel_app.app.serve` in a subprocess and chromium (Playwright)
times, from navigation, the Overview page fully drawn and the Students page's first table page.
The floor is a page of the same server holding one Markdown pane (`/_floor`).

`bench_dashboard_days` times the first render of a session over a zone of 30 day partitions:
one real day's outputs (the job run once) published as 30 days, each partition holding that
day's files (hard links: the same bytes, no 30 copies), its own manifest, and `full.csv` as
Parquet part files; a daily series of 30 rows; the latest day at the root. It times the
Overview (the latest day by default), the Students page's first table page (DuckDB over that
day's Parquet), the Trends page, and the Overview of the oldest day (`?day=`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import csv as pa_csv

from bench.chromium import CHROMIUM, CHROMIUM_ARGS
from tasks.generator.day import generate
from tasks.resources.lake import Lake
from tasks.settings import CASE_STUDY_DATE

REPO = Path(__file__).resolve().parents[1]
REPEATS = 5  # warm navigations per page; the median is reported
STUDENT_COLUMNS = ("student_id", "state", "city", "university", "course")


def students_parquet(lake: Lake, run_date: date, target: Path) -> int:
    """The day's students with names resolved, as tasks/warehouse/export.py writes them from the
    warehouse; a student without an Id is left out, as the warehouse would."""
    day = run_date.isoformat()

    def load(name: str) -> list[dict]:
        return json.loads(lake.read_bytes("transactional", f"{day}/{name}").decode("utf-8-sig"))

    def names(name: str) -> dict[str, str]:
        return {_key(r["Id"]): r.get("Name") for r in load(name) if r.get("Id") is not None}

    universities, courses = names("universities.json"), names("courses.json")
    rows = [
        (
            str(r["Id"]),
            r.get("State"),
            r.get("City"),
            universities.get(_key(r.get("UniversityId"))),
            courses.get(_key(r.get("CourseId"))),
        )
        for r in load("students.json")
        if r.get("Id") not in (None, "")
    ]
    columns = list(zip(*rows, strict=True))
    schema = pa.schema([(c, pa.string()) for c in STUDENT_COLUMNS])
    arrays = [pa.array(list(c), pa.string()) for c in columns]
    pq.write_table(pa.Table.from_arrays(arrays, schema=schema), target)
    return len(rows)


def _key(value: object) -> str:
    """Ids arrive as 12, "12" or "12.0": one key for all three."""
    text = str(value).strip()
    return text[:-2] if text.endswith(".0") else text


def prepare_outputs(root: Path, scale: float, run_date: date = CASE_STUDY_DATE) -> Path:
    """A local lake under `root` holding a generated day and the Spark job's outputs."""
    from tasks.analytics.job import run_job
    from tasks.resources.spark import spark_session

    lake = Lake(str(root / "lake"))
    generate(lake, scale=scale, seed=7, run_date=run_date)
    students = root / "students.parquet"
    students_parquet(lake, run_date, students)
    events = [lake.path("raw", name) for name in lake.list("raw", f"{run_date}/part-*.json")]
    with spark_session("pdbi-bench-dashboard") as spark:
        run_job(spark, events, str(students), root / "lake" / "analytics", run_date)
    return root / "lake"


SERVE = (  # the app's serve() plus the floor: a page holding one Markdown pane
    "import sys, panel as pn; from panel_app.app import serve; "
    "floor = {'/_floor': lambda: pn.pane.Markdown('# Floor page')}; "
    "serve('127.0.0.1', int(sys.argv[1]), routes=floor)"
)
_DEEP = (  # querySelectorAll through the shadow roots Panel renders into
    "const deep = (s, r = document) => [...r.querySelectorAll(s), ...[...r.querySelectorAll('*')]"
    ".filter(e => e.shadowRoot).flatMap(e => deep(s, e.shadowRoot))];"
)
DRAWN = {  # when a page counts as drawn: a test evaluated in the page until it holds
    "floor": "deep('h1').some(e => e.textContent.includes('Floor page'))",
    # the six numbers and the chart's canvas
    "overview": "deep('.kpi .value').length === 6 && deep('canvas').length >= 1",
    # the first page of the table: 25 rows
    "students": "deep('.tabulator-row').length === 25",
}
PATHS = {"floor": "_floor", "overview": "", "students": "students"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(lake_root: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PDBI_")}
    env.update(PDBI_LAKE_URL=str(lake_root), PDBI_DATA_DIR=str(lake_root.parent / "data"))
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", SERVE, str(port)],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "_floor", timeout=5):
                return process, url
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"the dashboard did not start:\n{log.read_text()}") from None
            time.sleep(0.3)
    raise RuntimeError(f"the dashboard did not answer in 120 s:\n{log.read_text()}")


def time_pages(
    url: str,
    repeats: int = REPEATS,
    drawn: dict[str, str] | None = None,
    paths: dict[str, str] | None = None,
) -> dict[str, list[float]]:
    """Seconds from navigation start to each page drawn, as the browser counts them
    (performance.now() when the page's DRAWN test first holds), one new context (empty
    browser cache) per navigation."""
    from playwright.sync_api import sync_playwright

    drawn, paths = drawn or DRAWN, paths or PATHS
    times: dict[str, list[float]] = {name: [] for name in drawn}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for _ in range(repeats):
                for name, test in drawn.items():
                    context = browser.new_context(viewport={"width": 1400, "height": 1000})
                    context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"),
                                  lambda route: route.abort())  # fmt: skip
                    page = context.new_page()
                    page.goto(url + paths[name], wait_until="commit")
                    script = f"() => {{ {_DEEP} return {test}; }}"
                    page.wait_for_function(script, polling=20, timeout=60_000)
                    times[name].append(page.evaluate("performance.now()") / 1000)
                    context.close()
        finally:
            browser.close()
    return times


def bench_dashboard(scale: float, lake_root: Path | None = None) -> list[dict]:
    """Overview drawn and Students' first table page, against a one-Markdown page floor;
    `lake_root` reuses outputs prepared earlier instead of running the job again."""
    root = Path(tempfile.mkdtemp(prefix="pdbi-bench-dashboard-"))
    try:
        started = time.perf_counter()
        lake_root = lake_root or prepare_outputs(root, scale)
        prepared = time.perf_counter() - started
        manifest = json.loads((lake_root / "analytics" / "manifest.json").read_text())
        process, url = _start(lake_root, root / "serve.log")
        try:
            time_pages(url, repeats=1)  # first visits: the server's caches and imports warm up
            times = time_pages(url)
        finally:
            process.terminate()
            process.wait(timeout=30)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    rows = {"overview": manifest["events"]["read"],
            "students": manifest["outputs"]["full.csv"]["rows"]}  # fmt: skip
    return [
        page_row(f"dashboard {name} drawn (browser)", rows[name], times, name, prepared)
        for name in rows
    ]


def page_row(
    stage: str, rows: int, times: dict[str, list[float]], name: str, prepared: float
) -> dict:
    """One page's row: the median of its draws against the median of the floor page's."""
    floor, seconds = statistics.median(times["floor"]), statistics.median(times[name])
    return {
        "stage": stage,
        "rows": rows,
        "seconds": round(seconds, 3),
        "floor": "a one-Markdown page of the same server",
        "floor_seconds": round(floor, 3),
        "ratio": round(seconds / floor, 2),
        "runs": [round(t, 3) for t in times[name]],
        "prepare_seconds": round(prepared, 1),
    }


DAYS = 30
PARTS = 4  # Parquet part files per day, as Spark writes a few
DAYS_DRAWN = {
    "floor": DRAWN["floor"],
    "overview": DRAWN["overview"],
    "students": DRAWN["students"],
    # one chart per series column (9) and the table of every day
    "trends": "deep('canvas').length >= 9 && deep('table.panel-df tbody tr').length === "
    + str(DAYS),
    "overview, oldest day": DRAWN["overview"],
}


def full_to_parquet(full_csv: Path, folder: Path, parts: int = PARTS) -> int:
    """full.csv as `parts` Parquet files of text columns, in the file's order (the layout the
    pipeline publishes beside full.csv); returns the rows."""
    folder.mkdir(parents=True, exist_ok=True)
    convert = pa_csv.ConvertOptions(
        column_types={},
        strings_can_be_null=True,
        check_utf8=True,
    )
    table = pa_csv.read_csv(
        full_csv,
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        convert_options=convert,
        read_options=pa_csv.ReadOptions(block_size=1 << 24),
    )
    table = table.cast(pa.schema([(name, pa.string()) for name in table.column_names]))
    size = -(-table.num_rows // parts)
    for part in range(parts):
        chunk = table.slice(part * size, size)
        pq.write_table(chunk, folder / f"part-{part:05d}-bench.snappy.parquet")
    return table.num_rows


def publish_days(lake_root: Path, days: int = DAYS, last: date = CASE_STUDY_DATE) -> list[str]:
    """Turn the one day the job published at the zone's root into `days` partitions ending on
    `last`, a series file and the root moved to the last day; returns the days, oldest first."""
    zone = lake_root / "analytics"
    manifest = json.loads((zone / "manifest.json").read_text())
    outputs = [p for p in zone.glob("*.csv")]
    parquet = lake_root.parent / "full-parquet"
    full_to_parquet(zone / "full.csv", parquet)
    names = [(last - timedelta(days=days - 1 - i)).isoformat() for i in range(days)]
    series = ["day,page_views,identified_views,active_students,foreign_share,views_per_profile,"
              "new_versions_students,new_versions_universities,new_versions_courses,"
              "new_versions_subjects"]  # fmt: skip
    events = manifest["events"]
    active = manifest["outputs"].get("active_students.csv", {}).get("rows", 0)
    for i, day in enumerate(names):
        folder = zone / f"day={day}"
        (folder / "full").mkdir(parents=True, exist_ok=True)
        for path in outputs:
            os.link(path, folder / path.name)
        for part in sorted(parquet.glob("*.parquet")):
            os.link(part, folder / "full" / part.name)
        (folder / "manifest.json").write_text(json.dumps({**manifest, "run_date": day}, indent=2))
        views = events["identified"] + events["anonymous"] + 100 * i  # a visible trend
        series.append(
            f"{day},{views},{events['identified']},{active},0.031,{views / 5:.2f},"
            f"{1000 - 10 * i},{i % 3},{i % 5},{i % 7}"
        )
    (zone / "series").mkdir(exist_ok=True)
    (zone / "series" / "daily.csv").write_text("\n".join(series) + "\n")
    root = {**manifest, "run_date": names[-1]}
    (zone / "manifest.json").write_text(json.dumps(root, indent=2))
    return names


def bench_dashboard_days(scale: float, lake_root: Path | None = None) -> list[dict]:
    """The first render of each page in a new session over 30 day partitions, against the
    one-Markdown floor page; `lake_root` reuses a prepared zone (already partitioned)."""
    root = Path(tempfile.mkdtemp(prefix="pdbi-bench-dashboard-days-"))
    try:
        started = time.perf_counter()
        if lake_root is None:
            lake_root = prepare_outputs(root, scale)
            days = publish_days(lake_root)
        else:
            days = sorted(p.name[4:] for p in (lake_root / "analytics").glob("day=*"))
        prepared = time.perf_counter() - started
        manifest = json.loads((lake_root / "analytics" / "manifest.json").read_text())
        process, url = _start(lake_root, root / "serve.log")
        paths = {**PATHS, "trends": "trends", "overview, oldest day": f"?day={days[0]}"}
        try:
            first = time_pages(url, repeats=1, drawn=DAYS_DRAWN, paths=paths)  # cold server
            times = time_pages(url, drawn=DAYS_DRAWN, paths=paths)
        finally:
            process.terminate()
            process.wait(timeout=30)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    rows = {"overview": manifest["events"]["read"],
            "students": manifest["outputs"]["full.csv"]["rows"], "trends": len(days),
            "overview, oldest day": manifest["events"]["read"]}  # fmt: skip
    return [
        {
            **page_row(
                f"dashboard {name} drawn, {len(days)} day partitions (browser)",
                rows[name],
                times,
                name,
                prepared,
            ),
            "first_visit_seconds": round(first[name][0], 3),
        }
        for name in rows
    ]


if __name__ == "__main__":
    # python -m bench.dashboard [SCALE [LAKE]]: LAKE reuses outputs a previous run prepared;
    # python -m bench.dashboard days [SCALE [LAKE]]: the 30 day partitions
    args = sys.argv[1:]
    bench = bench_dashboard
    if args and args[0] == "days":
        bench, args = bench_dashboard_days, args[1:]
    scale = float(args[0]) if args else 1.0
    for row in bench(scale, Path(args[1]) if len(args) > 1 else None):
        print(row)
