"""A new user's first run, as the README tells it: `pdbi generate`, `pdbi run`, `pdbi serve`,
in an empty folder with no setting at all (a relative data folder, the embedded PostgreSQL).

Checked: what the terminal shows (a line per step, the warnings about the data, the summary;
no Prefect log lines, no traceback), the Data Docs built on these defaults and opened in
chromium with no network, and the Pipeline page showing the run with no Prefect API.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import pytest
from playwright.sync_api import expect

from bench.chromium import CHROMIUM, CHROMIUM_ARGS
from tasks.entities import SOURCES
from tests.browser.conftest import _free_port
from tests.conftest import IN_CI

pytestmark = pytest.mark.e2e
DAY = "2017-11-16"
PDBI = Path(sys.executable).with_name("pdbi")
# What the Spark job's JVM prints when it writes to the terminal itself; pdbi sends it to the
# run's Spark log file instead (tasks/resources/spark.py), so none may reach the terminal.
SPARK = re.compile(
    r"^(WARNING: Using incubator modules|Using Spark's default log4j profile|Setting default "
    r"log level|To adjust logging level|\d\d/\d\d/\d\d \d\d:\d\d:\d\d (WARN|INFO|ERROR) )"
)
STEP = re.compile(r"^\s*\d+\.\d+s ([✔✖↻•⚠]) (\S+)")


@dataclass
class FirstRun:
    folder: Path
    env: dict[str, str]
    stdout: str
    stderr: str

    @property
    def lake(self) -> Path:
        return self.folder / "data" / "lake"


def pdbi(folder: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(PDBI), *args], cwd=folder, env=env, capture_output=True, text=True, timeout=900
    )


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FirstRun]:
    folder = tmp_path_factory.mktemp("first-run")
    # a new user's shell: none of the tests' settings (the conftest turns the Prefect server's
    # telemetry off; offline it printed an ERROR line, so `pdbi` must turn it off itself)
    env = {k: v for k, v in os.environ.items() if not k.startswith(
        ("PDBI_", "PREFECT_API", "DATABASE_URL", "PREFECT_SERVER_ANALYTICS"))}  # fmt: skip
    env.update(PREFECT_HOME=str(folder / ".prefect"), COLUMNS="120")
    generated = pdbi(folder, env, "generate", "--scale", "0.01", "--date", DAY)
    assert generated.returncode == 0, generated.stderr
    ran = pdbi(folder, env, "run", "--date", DAY)
    try:
        assert ran.returncode == 0, ran.stderr
        yield FirstRun(folder, env, ran.stdout, ran.stderr)
    finally:
        pdbi(folder, env, "db", "stop")


def test_the_terminal_holds_the_steps_the_warnings_and_the_summary(first_run: FirstRun) -> None:
    lines = [line for line in first_run.stderr.splitlines() if line.strip()]
    assert [line for line in lines if SPARK.match(line)] == []
    assert "Traceback" not in first_run.stderr
    assert not [line for line in lines if "| INFO" in line or "| WARNING" in line]
    steps = {m.group(2): m.group(1) for line in lines if (m := STEP.match(line))}
    expected = ["preflight", "find_new_files", "stage-students", "merge-dim_student",
                "run_analytics", "publish_outputs", f"data-docs-{DAY}", f"daily-{DAY}"]  # fmt: skip
    for step in expected:
        assert steps.get(step) == "✔", (step, lines)
    # every file that had rows quarantined is named in a warning, as the lake shows it
    quarantined = sorted(
        p.name
        for p in (first_run.lake / "quarantine" / DAY).glob("*.jsonl")
        if p.stem in SOURCES and p.stat().st_size  # the stage's rejects (not Spark's sample)
    )
    assert quarantined  # the generated day has some bad rows
    warnings = [line for line in lines if STEP.match(line) and STEP.match(line).group(1) == "⚠"]
    for name in quarantined:
        assert any(f"quarantine/{DAY}/{name}" in line for line in warnings), (name, warnings)
    # nothing else: each line is a step, a warning, or where the whole log is
    log_line = [line for line in lines if line.startswith("Log: ")]
    assert len(log_line) == 1 and Path(log_line[0][5:]).is_file()
    assert [line for line in lines if not STEP.match(line)] == log_line
    assert "Stage, 2017-11-16" in first_run.stdout and "Published" in first_run.stdout


def test_the_data_docs_are_built_on_default_settings(first_run: FirstRun) -> None:
    site = first_run.lake / "reports" / "data_docs"
    status = json.loads((site / "status.json").read_text(encoding="utf-8"))
    assert status["error"] is None and status["warnings"] == [], status
    index = (site / "index.html").read_text(encoding="utf-8")
    links = set(re.findall(r"""["']((?:validations|expectations)/[^"']+\.html)["']""", index))
    assert len([link for link in links if link.startswith("validations/")]) == 8
    assert all((site / unquote(link)).is_file() for link in links)  # part-%2A.json: part-*
    log = next((first_run.folder / "data" / "logs").glob("run-*.log")).read_text()
    assert "root_directory" not in log and "Data Docs: reports/data_docs/index.html" in log


@pytest.fixture(scope="module")
def served(first_run: FirstRun) -> Iterator[str]:
    port = _free_port()
    log = first_run.folder / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(PDBI), "serve", "--port", str(port)],
            cwd=first_run.folder,
            env=first_run.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, log.read_text()
            try:
                with urllib.request.urlopen(url, timeout=5):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(20)
    assert "Traceback" not in log.read_text()


@pytest.fixture(scope="module")
def browser(served: str):
    if not CHROMIUM.exists():
        (pytest.fail if IN_CI else pytest.skip)(f"{CHROMIUM} not found")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def offline_page(browser, blocked: list[str]):
    """A page that reaches 127.0.0.1 only; every other request is refused and listed."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    local = re.compile(r"^(https?://127\.0\.0\.1[:/]|data:|blob:|about:)")

    def route(r):
        if local.match(r.request.url):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    return context, context.new_page()


def test_the_data_docs_work_without_a_network(first_run: FirstRun, served: str, browser) -> None:
    blocked: list[str] = []
    context, page = offline_page(browser, blocked)
    try:
        page.goto(served + "reports/data_docs/index.html")
        # the validations' table is drawn by bootstrap-table, from the site's copy
        validations = page.get_by_role("tabpanel", name="Validation Results")
        validations.get_by_text("Showing 1 to 8 of 8 rows").wait_for(timeout=20_000)
        students = validations.locator("tbody tr", has_text=f"transactional/{DAY}/students.json")
        assert students.count() == 1
        loaded = page.evaluate(
            "() => [typeof jQuery, typeof jQuery.fn.bootstrapTable, typeof vegaEmbed,"
            " getComputedStyle(document.querySelector('.btn') || document.body).borderRadius,"
            " document.fonts.check('16px \"Font Awesome 6 Free\"')]"
        )
        assert loaded[:3] == ["function", "function", "function"], loaded
        page.screenshot(path=str(first_run.folder / "data-docs-index.png"), full_page=True)
        students.click()
        page.wait_for_url("**/validations/students/**")
        page.get_by_text("Overview").first.wait_for()
        assert page.evaluate("() => typeof jQuery.fn.bootstrapTable") == "function"
        page.screenshot(path=str(first_run.folder / "data-docs-page.png"), full_page=True)
    finally:
        context.close()
    assert blocked == [], blocked


def test_the_pipeline_page_shows_the_run_without_a_prefect_api(served: str, browser) -> None:
    blocked: list[str] = []
    context, page = offline_page(browser, blocked)
    try:
        page.goto(served + "pipeline")
        page.get_by_text("From the warehouse (meta.pipeline_runs).").wait_for(timeout=30_000)
        row = page.locator("table.panel-df tbody tr").first
        # the caption can show before the table's rows are filled in, and the table can be
        # drawn again between two reads (a CI run read '' right after the row had matched):
        # every check on the row is a retrying `expect`, none a single read
        expect(row).to_contain_text(f"daily-{DAY}", timeout=30_000)
        expect(row).to_contain_text("✔ Completed", timeout=30_000)
    finally:
        context.close()
