"""Browser fixtures: the real `serve()` in subprocesses over fixture lakes, and system chromium.

Two servers start side by side for the session, each with its own settings, lake, database and
Panel state: "full" over two days of partitioned outputs, the latest also at the zone's root, and
the daily series (tests/browser/fixture_day.py `write_days`), Data Docs and a
warehouse holding validations and runs (fixture_warehouse.py); "empty" over an empty analytics
zone and an empty warehouse, checking for a new manifest every second. Each is stopped through
its own process handle. Every test opens a new browser context, so a new Panel session.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from playwright.sync_api import Browser, Page, expect
from psycopg import sql

from bench.chromium import CHROMIUM, CHROMIUM_ARGS
from tasks.resources import postgres
from tests.browser import fixture_day, fixture_warehouse

REPO = Path(__file__).resolve().parents[2]
_NOT_LOCAL = re.compile(r"^https?://(?!127\.0\.0\.1[:/])")
SCREENSHOTS = Path(__file__).parent / "screenshots"
expect.set_options(timeout=15_000)  # a 2-core machine runs two servers and chromium at once
PAGES = {"overview": "", "trends": "trends", "geography": "geography", "users": "users",
         "students": "students", "quality": "quality", "pipeline": "pipeline"}  # fmt: skip


@dataclass
class Served:
    url: str
    lake_root: Path
    process: subprocess.Popen
    log: Path

    def page_url(self, page: str, day: str | None = None) -> str:
        return self.url + PAGES[page] + (f"?day={day}" if day else "")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(lake_root: Path, log: Path, **settings: str) -> Served:
    """`serve()` in a subprocess over `lake_root`; `settings` are extra environment variables."""
    port = _free_port()
    code = "import sys; from panel_app.app import serve; serve('127.0.0.1', int(sys.argv[1]))"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PDBI_", "PREFECT_API"))}
    env.update(PDBI_LAKE_URL=str(lake_root), PDBI_DATA_DIR=str(lake_root.parent / "data"),
               PYTHONUNBUFFERED="1", **settings)  # fmt: skip
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", code, str(port)],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Served(f"http://127.0.0.1:{port}/", lake_root, process, log)


def wait_ready(served: Served, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            pytest.fail(f"dashboard server exited:\n{served.log.read_text()}")
        try:
            with urllib.request.urlopen(served.url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    pytest.fail(f"dashboard server not ready after {timeout:.0f} s:\n{served.log.read_text()}")


def stop_server(served: Served) -> None:
    served.process.terminate()
    try:
        served.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        served.process.kill()
        served.process.wait()


def _database(admin_url: str, fill: bool) -> str:
    """A fresh, migrated database on the embedded server, with the fixture rows if `fill`."""
    name = f"pdbi_browser_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    url = psycopg.conninfo.make_conninfo(admin_url, dbname=name)
    with psycopg.connect(url) as conn:
        postgres.apply_migrations(conn)
        postgres.ensure_roles(conn)  # the dashboard reads as the reporting role
        if fill:
            fixture_warehouse.fill(conn)
    return url


@pytest.fixture(scope="session")
def day() -> fixture_day.Day:
    """The full server's latest day, as written (tests compute expectations from it)."""
    return fixture_day.Day(full=fixture_day.full_events())


@pytest.fixture(scope="session")
def days() -> dict[str, fixture_day.Day]:
    """The full server's days, oldest first, as written."""
    return fixture_day.all_days()


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory, embedded_server: str):
    """The 'full' and 'empty' servers, started side by side once for the session."""
    root = tmp_path_factory.mktemp("browser")
    fixture_day.write_days(root / "full" / "lake")
    fixture_warehouse.write_reports(root / "full" / "lake")
    (root / "empty" / "lake" / "analytics").mkdir(parents=True)
    started = {
        "full": start_server(root / "full" / "lake", root / "full.log",
                             PDBI_DATABASE_URL=_database(embedded_server, fill=True),
                             PDBI_DASHBOARD_DOWNLOAD_ROWS="100"),
        "empty": start_server(root / "empty" / "lake", root / "empty.log",
                              PDBI_DATABASE_URL=_database(embedded_server, fill=False),
                              PDBI_DASHBOARD_RELOAD_SECONDS="1"),
    }  # fmt: skip
    try:
        for served in started.values():
            wait_ready(served)
        yield started
    finally:
        for served in started.values():
            stop_server(served)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """System chromium; missing is a skip on a workstation and a failure in CI.

    Package scope: while sync Playwright runs, the main thread counts as async to Prefect, whose
    sync calls then return coroutines; it must stop before the e2e and integration tests."""
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
    context = browser.new_context(viewport={"width": 1400, "height": 1800}, accept_downloads=True)
    context.set_default_timeout(20_000)
    # Hermetic and fast: the template asks Google Fonts for a font; fail that at once.
    context.route(_NOT_LOCAL, lambda route: route.abort())
    try:
        yield context.new_page()
    finally:
        context.close()


Shoot = Callable[[Page, str], Path]


@pytest.fixture
def shoot() -> Shoot:
    """Save a full-page screenshot under tests/browser/screenshots/ (git-ignored)."""

    def save(page: Page, name: str) -> Path:
        SCREENSHOTS.mkdir(exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.wait_for_timeout(300)  # let bokeh paint its canvases
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


# Tornado logs a write to a websocket whose browser tab just closed; it is not the app's error.
_CLOSED_SOCKET = re.compile(
    r"(?:ERROR:asyncio:)?Task exception was never retrieved\nfuture: <Task finished name='[^']*' "
    r"coro=<WebSocketProtocol13\.write_message.*?tornado\.websocket\.WebSocketClosedError\n",
    re.S,
)


def assert_no_server_errors(log: Path) -> None:
    text = _CLOSED_SOCKET.sub("", log.read_text())
    assert "Traceback" not in text and "ERROR" not in text, text
