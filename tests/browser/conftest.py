"""Browser fixtures: the real `serve()` in a subprocess over a fixture lake, and system chromium.

A subprocess per lake (one with outputs, one empty) gives each server its own settings, lake and
Panel state, started fresh for the module and stopped by its own process handle afterwards.
"""

from __future__ import annotations

import csv
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
_NOT_LOCAL = re.compile(r"^https?://(?!127\.0\.0\.1[:/])")
SCREENSHOTS = Path(__file__).parent / "screenshots"
FULL_HEADER = [
    "student_id",
    "client",
    "at",
    "browser",
    "country",
    "custom_4",
    "page_name",
    "last_accessed_url",
    "state",
    "city",
    "university",
    "course",
]

# Three countries above 100, two between 50 and 100, one below 50.
COUNTRY_ROWS = [("us", 1500), ("pt", 320), ("ar", 180), ("de", 90), ("fr", 75), ("jp", 20)]
USERS_ROWS = [
    ("Core User", 2400),
    ("Casual User", 1300),
    ("Cold User", 410),
    ("New User", 95),
    ("unknown", 60),
    ("yes", 3),
]
# (student_id, state): s1 has two events, s7 has no state.
EVENT_STUDENTS = [
    ("s1", "São Paulo"),
    ("s1", "São Paulo"),
    ("s2", "São Paulo"),
    ("s3", "São Paulo"),
    ("s4", "Rio de Janeiro"),
    ("s5", "Rio de Janeiro"),
    ("s6", "Minas Gerais"),
    ("s7", ""),
]


@dataclass(frozen=True)
class Outputs:
    """The fixture rows, for tests to compute what the page should show."""

    countries: list[tuple[str, int]]
    profiles: list[tuple[str, int]]
    event_students: list[tuple[str, str]]
    write: Callable[[Path], None]
    remove: Callable[[Path], None]


def write_outputs(lake_root: Path) -> None:
    """The three analytics CSVs, as the Spark job would publish them."""
    analytics = lake_root / "analytics"
    analytics.mkdir(parents=True, exist_ok=True)
    _write_csv(analytics / "country.csv", ["country", "count"], COUNTRY_ROWS)
    _write_csv(analytics / "users.csv", ["custom_4", "count"], USERS_ROWS)
    events = [
        (
            sid,
            "Website",
            "2017-11-16 10:00:00",
            "Chrome",
            "br",
            "Core User",
            "Home",
            "https://www.passeidireto.com/",
            state,
            "",
            "",
            "Direito",
        )
        for sid, state in EVENT_STUDENTS
    ]
    _write_csv(analytics / "full.csv", FULL_HEADER, events)


def remove_outputs(lake_root: Path) -> None:
    for name in ("country.csv", "users.csv", "full.csv"):
        (lake_root / "analytics" / name).unlink(missing_ok=True)


def _write_csv(path: Path, header: list[str], rows: list[tuple]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


@dataclass
class Served:
    url: str
    lake_root: Path
    process: subprocess.Popen
    log: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(lake_root: Path, log: Path) -> Served:
    port = _free_port()
    code = "import sys; from panel_app.app import serve; serve('127.0.0.1', int(sys.argv[1]))"
    env = {**os.environ, "PDBI_LAKE_URL": str(lake_root), "PYTHONUNBUFFERED": "1"}
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", code, str(port)],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Served(f"http://127.0.0.1:{port}/", lake_root, process, log)


def _wait_ready(served: Served, timeout: float = 45.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            pytest.fail(f"dashboard server exited:\n{served.log.read_text()}")
        try:
            with urllib.request.urlopen(served.url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    pytest.fail(f"dashboard server not ready after {timeout:.0f} s:\n{served.log.read_text()}")


def _stop(served: Served) -> None:
    served.process.terminate()
    try:
        served.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        served.process.kill()
        served.process.wait()


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Served]]:
    """Two fresh servers started side by side: 'full' over fixture outputs, 'empty' over none."""
    root = tmp_path_factory.mktemp("browser-lakes")
    write_outputs(root / "full-lake")
    (root / "empty-lake" / "analytics").mkdir(parents=True)
    started = {
        kind: _start(root / f"{kind}-lake", root / f"{kind}.log") for kind in ("full", "empty")
    }
    try:
        for served in started.values():
            _wait_ready(served)
        yield started
    finally:
        for served in started.values():
            _stop(served)


@pytest.fixture(scope="session")
def outputs() -> Outputs:
    return Outputs(COUNTRY_ROWS, USERS_ROWS, EVENT_STUDENTS, write_outputs, remove_outputs)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """System chromium; missing is a skip on a workstation and a failure in CI."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} not found; install it with `apt-get install -y chromium`"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh context per test, so every test opens a new Panel session. Tall, because the
    template scrolls inside its main area and a full-page screenshot stops at the viewport."""
    context = browser.new_context(viewport={"width": 1280, "height": 1900})
    context.set_default_timeout(15_000)
    # Hermetic and fast: the template asks Google Fonts for a font; fail that at once.
    context.route(_NOT_LOCAL, lambda route: route.abort())
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def shoot() -> Callable[[Page, str], Path]:
    """Save a full-page screenshot under tests/browser/screenshots/ (git-ignored)."""

    def save(page: Page, name: str) -> Path:
        SCREENSHOTS.mkdir(exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save
