"""Data Docs from the warehouse's validation history, built by the stage flow: an index that
links only to pages the lake holds, a failed build that says so, and a check that finds a
broken site."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, timedelta

import psycopg
import pytest

from flows.stage import load_stage
from tasks.entities import ENTITIES
from tasks.generator.day import generate
from tasks.quality.reports import SITE, check_site, publish_data_docs
from tasks.resources.lake import get_lake

pytestmark = pytest.mark.integration
DAY = date(2017, 11, 16)
LINKS = re.compile(r"""["'](validations/[^"']+\.html)["']""")


@pytest.fixture(scope="module")
def prefect_api() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


def index_links() -> set[str]:
    return set(LINKS.findall(get_lake().read_bytes("reports", f"{SITE}/index.html").decode()))


def site_files() -> set[str]:
    return {n.removeprefix(f"{SITE}/") for n in get_lake().list("reports", f"{SITE}/**")}


def two_days_loaded() -> tuple[set[str], set[str]]:
    """Two tiny days through the stage flow, which builds the docs after each load; the index
    links after the first day and after the second."""
    before = DAY - timedelta(days=1)
    for day in (before, DAY):
        generate(get_lake(), scale=0.002, seed=3, run_date=day)
    load_stage(before, "load-1")
    first = index_links()
    load_stage(DAY, "load-2")
    return first, index_links()


@pytest.mark.usefixtures("prefect_api")
def test_the_index_links_only_pages_the_lake_holds(migrated: psycopg.Connection) -> None:
    first, links = two_days_loaded()
    suites_and_loads = {tuple(p.split("/")[1:3]) for p in links}
    assert {load for _, load in suites_and_loads} == {"load-1", "load-2"}
    # every BASE A source, both days (the page views are validated by the Spark job)
    assert len({suite for suite, _ in suites_and_loads}) == len(ENTITIES)
    assert first < links and links <= site_files()

    # a page of the earlier day lost from the lake is rendered again, not linked as a 404
    lost = sorted(first)[0]
    get_lake().remove("reports", f"{SITE}/{lost}")
    assert publish_data_docs(DAY) == f"reports/{SITE}/index.html"
    assert index_links() == links and links <= site_files()
    assert "Overview" in get_lake().read_bytes("reports", f"{SITE}/{lost}").decode()
    assert check_site(get_lake()) == (None, ())  # no warning: every file a page loads is local


@pytest.mark.usefixtures("prefect_api")
def test_a_failed_build_is_recorded_and_found(migrated: psycopg.Connection) -> None:
    _, links = two_days_loaded()
    lake = get_lake()
    page = sorted(links)[0]
    lake.remove("reports", f"{SITE}/{page}")
    error, _ = check_site(lake)
    assert error == f"the Data Docs index links 1 pages that are not in the lake (first: {page})"

    # the history cannot be read: the build fails, and status.json says why
    migrated.execute("alter table meta.validation_results rename to validation_results_gone")
    migrated.commit()
    with pytest.raises(psycopg.errors.UndefinedTable):
        publish_data_docs(DAY)
    status = json.loads(lake.read_bytes("reports", f"{SITE}/status.json"))
    assert status["run_date"] == DAY.isoformat()
    assert status["error"].startswith("UndefinedTable: relation ")
    error, _ = check_site(lake)
    assert error is not None and error.startswith(
        "the Data Docs build of 2017-11-16 failed: UndefinedTable: relation "
    )
