"""The Pipeline page reading a real Prefect API: runs of a flow named daily-pipeline.

A temporary Prefect server (prefect_test_harness) records two runs of a stand-in flow with the
pipeline's flow and run names, one completed and one failed; a dashboard whose PREFECT_API_URL
points at that server must list them, newest first, and say where they come from.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    Served,
    Shoot,
    assert_no_server_errors,
    start_server,
    stop_server,
    wait_ready,
)

pytestmark = pytest.mark.browser

COMPLETED, FAILED = date(2017, 11, 20), date(2017, 11, 21)


@pytest.fixture(scope="module")
def prefect_dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    from prefect import flow
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    @flow(name="daily-pipeline", flow_run_name="daily-{run_date}")
    def stand_in(run_date: date) -> None:
        if run_date == FAILED:
            raise RuntimeError("a failed day")

    with prefect_test_harness(server_startup_timeout=180):
        stand_in(COMPLETED)
        stand_in(FAILED, return_state=True)
        root = tmp_path_factory.mktemp("prefect-dashboard")
        (root / "lake" / "analytics").mkdir(parents=True)
        served = start_server(root / "lake", root / "serve.log",
                              PREFECT_API_URL=str(PREFECT_API_URL.value()))  # fmt: skip
        try:
            wait_ready(served)
            yield served
        finally:
            stop_server(served)


def test_pipeline_lists_the_runs_prefect_recorded(page: Page, prefect_dashboard, shoot: Shoot):
    page.goto(prefect_dashboard.page_url("pipeline"))

    expect(page.get_by_text("From the Prefect API.")).to_be_visible()
    rows = page.locator("table.panel-df tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text(f"daily-{FAILED}")
    expect(rows.nth(0)).to_contain_text("Failed")
    expect(rows.nth(1)).to_contain_text(f"daily-{COMPLETED}")
    expect(rows.nth(1)).to_contain_text("Completed")
    expect(rows.nth(1)).to_contain_text(str(COMPLETED))  # the run_date parameter
    expect(page.locator(".kpi .value").first).to_have_text("Failed")  # the last run
    shoot(page, "pipeline-prefect")
    assert_no_server_errors(prefect_dashboard.log)
