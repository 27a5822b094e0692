"""No form of a database URL shows its password on any page of the dashboard.

One server per form of PDBI_DATABASE_URL (and one PDBI_REPORTING_URL), each over the same day of
outputs, each page opened in chromium; the password is looked for in the page's HTML, its text
and the server's log. The forms: the three spellings pdbi reads (one with a wrong password, one
at a port where nothing listens), libpq's key=value form, and two it refuses (another scheme, no
scheme at all), which the pages name as a bad setting, password masked. `pdbi serve` itself
refuses the refused ones in one sentence.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from playwright.sync_api import Browser
from psycopg import sql

from tasks.resources import postgres
from tests.browser import fixture_day, fixture_warehouse
from tests.browser.conftest import PAGES, Served, start_server, stop_server, wait_ready
from tests.conftest import IN_CI, SERVER_URL

pytestmark = pytest.mark.browser
PASSWORD = f"FAKE-pw-{uuid.uuid4().hex[:8]}-not-real"
WRONG = PASSWORD[::-1]  # a password the server refuses, as secret as the right one
REFUSED = ("mysql", "no scheme")


@pytest.fixture(scope="module")
def account() -> Iterator[tuple[str, str]]:
    """A login with PASSWORD owning a migrated, filled database on the 127.0.0.1 server;
    yields (role, database). Superuser, so it may SET ROLE to the reporting role."""
    try:
        psycopg.connect(SERVER_URL, connect_timeout=3).close()
    except psycopg.OperationalError:
        (pytest.fail if IN_CI else pytest.skip)(f"no PostgreSQL server at {SERVER_URL}")
    suffix = uuid.uuid4().hex[:8]
    role = database = f"pdbi_pw_{suffix}"
    with psycopg.connect(SERVER_URL, autocommit=True) as su:
        su.execute(sql.SQL("create role {} login superuser password {}").format(
            sql.Identifier(role), sql.Literal(PASSWORD)))  # fmt: skip
        su.execute(sql.SQL("create database {} owner {}").format(
            sql.Identifier(database), sql.Identifier(role)))  # fmt: skip
    with psycopg.connect(psycopg.conninfo.make_conninfo(SERVER_URL, dbname=database)) as conn:
        postgres.apply_migrations(conn)
        postgres.ensure_roles(conn)
        fixture_warehouse.fill(conn)
    try:
        yield role, database
    finally:
        with psycopg.connect(SERVER_URL, autocommit=True) as su:
            su.execute(sql.SQL("drop database if exists {} with (force)").format(
                sql.Identifier(database)))  # fmt: skip
            su.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(role)))


def forms(role: str, database: str) -> dict[str, dict[str, str]]:
    """Form name -> the settings a server gets."""
    host = psycopg.conninfo.conninfo_to_dict(SERVER_URL)
    at = f"{host.get('host', '127.0.0.1')}:{host.get('port', 5432)}/{database}"
    url = f"{role}:{PASSWORD}@{at}"
    return {
        "postgresql+psycopg": {"PDBI_DATABASE_URL": f"postgresql+psycopg://{url}"},
        "postgres, wrong password": {"PDBI_DATABASE_URL": f"postgres://{role}:{WRONG}@{at}"},
        "postgresql, nobody listening": {
            "PDBI_DATABASE_URL": f"postgresql://{role}:{PASSWORD}@127.0.0.1:1/{database}"
        },
        "key=value": {"PDBI_DATABASE_URL": f"host=127.0.0.1 dbname={database} user={role} "
                      f"password={PASSWORD} port={host.get('port', 5432)}"},
        "reporting URL": {"PDBI_REPORTING_URL": f"postgresql+psycopg://{url}"},
        "mysql": {"PDBI_DATABASE_URL": f"mysql://{url}"},
        "no scheme": {"PDBI_DATABASE_URL": url},
    }  # fmt: skip


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("secret-urls") / "lake"
    fixture_day.write_day(root)
    return root


@pytest.fixture(scope="module")
def served(account, lake: Path, tmp_path_factory) -> Iterator[dict[str, Served]]:
    """One dashboard per form, started side by side."""
    logs = tmp_path_factory.mktemp("secret-url-logs")
    started = {
        name: start_server(lake, logs / f"{i}.log", **settings)
        for i, (name, settings) in enumerate(forms(*account).items())
    }
    try:
        for server in started.values():
            wait_ready(server)
        yield started
    finally:
        for server in started.values():
            stop_server(server)


# Panel draws inside shadow roots: collect the HTML of the document and of every shadow root
ALL_HTML = """() => {
    const parts = [];
    const walk = (root) => {
        parts.push(root.innerHTML || "");
        root.querySelectorAll("*").forEach((el) => { if (el.shadowRoot) walk(el.shadowRoot); });
    };
    walk(document.documentElement);
    return parts.join("\\n");
}"""
# what the Data quality and Pipeline pages show once their warehouse section has drawn
DRAWN = ("From the", "could not be read", "not a PostgreSQL URL", "Latest validation",
         "No run history", "No validation results")  # fmt: skip


def everything_shown(page, name: str) -> str:
    """The page's HTML, shadow roots included, once its deferred sections have drawn."""
    for _ in range(60):
        html = page.evaluate(ALL_HTML)
        if name not in ("quality", "pipeline") or any(mark in html for mark in DRAWN):
            return html
        page.wait_for_timeout(250)
    raise AssertionError(f"the {name} page never drew its warehouse section")


@pytest.mark.parametrize("form", ["postgresql+psycopg", "postgres, wrong password",
                                  "postgresql, nobody listening", "key=value", "reporting URL",
                                  *REFUSED])  # fmt: skip
def test_no_page_shows_the_password(served: dict[str, Served], browser: Browser, form: str):
    server = served[form]
    secrets = {PASSWORD, WRONG}
    context = browser.new_context(viewport={"width": 1400, "height": 1200})
    context.route(lambda url: not url.startswith("http://127.0.0.1"), lambda r: r.abort())
    try:
        page = context.new_page()
        for name in PAGES:
            page.goto(server.page_url(name))
            page.wait_for_load_state("networkidle")
            shown = everything_shown(page, name)
            for secret in secrets:
                assert secret not in shown, f"the password is on the {name} page ({form})"
            if form in REFUSED and name in ("quality", "pipeline"):
                assert "PDBI_DATABASE_URL is not a PostgreSQL URL" in shown
                assert ":***@" in shown
            if form == "postgresql+psycopg" and name == "pipeline":
                assert "daily-2017-11-16" in shown  # this form really reads the warehouse
    finally:
        context.close()
    log = server.log.read_text()
    assert not any(secret in log for secret in secrets)


@pytest.mark.parametrize("form", REFUSED)
def test_pdbi_serve_refuses_a_bad_url_in_one_sentence(account, lake: Path, form: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PDBI_", "PREFECT_API"))}
    env.update(PDBI_LAKE_URL=str(lake), **forms(*account)[form])
    pdbi = Path(sys.executable).with_name("pdbi")
    done = subprocess.run([str(pdbi), "serve"], env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith("error: PDBI_DATABASE_URL is not a PostgreSQL URL")
    assert len(done.stderr.strip().splitlines()) <= 3 and "Traceback" not in done.stderr
    assert PASSWORD not in done.stdout + done.stderr
