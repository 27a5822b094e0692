"""Before the first run every page says so and names the command; new outputs then appear,
on the refresh button or by themselves when a newer manifest is published."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser import fixture_day
from tests.browser.conftest import Shoot, assert_no_server_errors

pytestmark = pytest.mark.browser

RUN = "pdbi run --date 2017-11-16"
# page -> sentences its empty state must show
EMPTY = {
    "overview": ["No analytics outputs yet.", "pdbi generate --scale 0.01", RUN],
    "trends": ["No daily series yet", "analytics/series/daily.csv", RUN],
    "geography": ["No analytics outputs yet.", RUN],
    "users": ["No analytics outputs yet.", RUN],
    "students": ["No analytics outputs yet.", RUN],
    "quality": ["No validation results yet.", "No Data Docs in the lake's reports zone yet",
                "manifest.json is not in the analytics zone yet", RUN],
    "pipeline": ["No pipeline runs recorded yet.", RUN],
}  # fmt: skip


@pytest.mark.parametrize("name", list(EMPTY))
def test_every_page_says_what_to_run_before_the_first_run(
    page: Page, servers, name: str, shoot: Shoot
):
    page.goto(servers["empty"].page_url(name))
    for sentence in EMPTY[name]:
        expect(page.get_by_text(sentence).first).to_be_visible()
    expect(page.locator("canvas")).to_have_count(0)
    shoot(page, f"empty-{name}")
    assert_no_server_errors(servers["empty"].log)


def test_refresh_button_reads_new_outputs(page: Page, servers):
    """CSVs without a manifest: the periodic check (every second here) has nothing new to
    see, so only the button can bring them in."""
    empty = servers["empty"]
    page.goto(empty.page_url("geography"))
    expect(page.get_by_text("No analytics outputs yet.")).to_be_visible()
    fixture_day.write_day(empty.lake_root)
    (empty.lake_root / "analytics" / "manifest.json").unlink()
    try:
        page.wait_for_timeout(2500)  # two periodic checks
        expect(page.get_by_text("No analytics outputs yet.")).to_be_visible()
        page.get_by_role("button", name="Refresh data").click()
        expect(page.get_by_role("heading", name="Users per state")).to_be_visible()
        expect(page.get_by_text("No analytics outputs yet.")).to_be_hidden()
    finally:
        fixture_day.remove_day(empty.lake_root)
    assert_no_server_errors(empty.log)


def test_a_newer_manifest_reloads_open_pages(page: Page, servers, day):
    empty = servers["empty"]
    page.goto(empty.page_url("overview"))
    expect(page.get_by_text("No analytics outputs yet.")).to_be_visible()
    fixture_day.write_day(empty.lake_root)
    try:
        views = day.events["identified"] + day.events["anonymous"]
        expect(page.locator(".kpi .value").first).to_have_text(f"{views:,}")
        expect(page.get_by_text("Data of 2017-11-16")).to_be_visible()
    finally:
        fixture_day.remove_day(empty.lake_root)
    expect(page.get_by_text("No analytics outputs yet.")).to_be_visible()  # and back
    assert_no_server_errors(empty.log)
