"""The served dashboard in chromium: three charts with data, the threshold, the empty lake."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

pytestmark = pytest.mark.browser

Shoot = Callable[[Page, str], Path]


def _countries_above(countries: list[tuple[str, int]], threshold: int) -> list[str]:
    kept = [(country, count) for country, count in countries if count > threshold]
    return [country for country, _ in sorted(kept, key=lambda row: (-row[1], row[0]))]


def _country_cells(page: Page) -> Locator:
    """First column of the table listing the countries shown beside the chart."""
    return page.locator("table.panel-df tbody tr td:first-child")


def _assert_no_server_errors(log: Path) -> None:
    text = log.read_text()
    assert "Traceback" not in text and "ERROR" not in text, text


def test_overview_shows_the_three_charts_with_data(page: Page, servers, outputs, shoot: Shoot):
    page.goto(servers["full"].url)

    for heading in (
        "Users per state",
        "Foreign countries with more than 100 accesses",
        "Users per profile",
    ):
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
    expect(page.get_by_label("Minimum accesses")).to_have_value("100")
    students = {student for student, _ in outputs.event_students}
    states = {state or "(missing)" for _, state in outputs.event_students}
    caption = f"{len(students)} distinct students in {len(states)} states"
    expect(page.get_by_text(caption)).to_be_visible()
    expect(_country_cells(page)).to_have_text(_countries_above(outputs.countries, 100))
    top_count = max(count for _, count in outputs.countries)
    expect(page.get_by_role("cell", name=f"{top_count:,}", exact=True)).to_be_visible()
    events = sum(count for _, count in outputs.profiles)
    profiles = f"{events:,} page views across {len(outputs.profiles)} profiles"
    expect(page.get_by_text(profiles)).to_be_visible()
    assert page.locator("canvas").count() >= 3  # at least one bokeh canvas per chart

    shoot(page, "overview")
    _assert_no_server_errors(servers["full"].log)


def test_minimum_accesses_changes_the_countries_shown(page: Page, servers, outputs, shoot: Shoot):
    page.goto(servers["full"].url)
    expect(_country_cells(page)).to_have_text(_countries_above(outputs.countries, 100))

    threshold = page.get_by_label("Minimum accesses")
    threshold.fill("50")
    threshold.press("Enter")

    expect(page.get_by_role("heading", name="with more than 50 accesses")).to_be_visible()
    shown = _countries_above(outputs.countries, 50)
    assert shown != _countries_above(outputs.countries, 100), "fixture must have 50 < count <= 100"
    expect(_country_cells(page)).to_have_text(shown)
    shoot(page, "overview-threshold-50")

    threshold.fill("10000")
    threshold.press("Enter")
    expect(page.get_by_text("No foreign country has more than 10,000 page views.")).to_be_visible()
    _assert_no_server_errors(servers["full"].log)


def test_state_chart_switches_to_the_original_pie(page: Page, servers, shoot: Shoot):
    page.goto(servers["full"].url)
    expect(page.get_by_role("heading", name="Users per state")).to_be_visible()

    page.get_by_role("button", name="Pie", exact=True).click()

    expect(page.get_by_text("distinct students in")).to_be_visible()
    page.wait_for_timeout(300)  # let bokeh paint the new figure before the screenshot
    shoot(page, "overview-pie")
    _assert_no_server_errors(servers["full"].log)


def test_empty_lake_shows_how_to_make_outputs_until_refresh_finds_them(
    page: Page, servers, outputs, shoot: Shoot
):
    empty = servers["empty"]
    page.goto(empty.url)
    message = page.get_by_text("No analytics outputs yet.")
    expect(message).to_be_visible()
    expect(page.get_by_text("pdbi generate --scale 0.01")).to_be_visible()
    expect(page.get_by_role("heading", name="Users per state")).to_be_hidden()
    shoot(page, "empty-lake")

    outputs.write(empty.lake_root)
    try:
        page.get_by_role("button", name="Refresh data").click()
        expect(page.get_by_role("heading", name="Users per state")).to_be_visible()
        expect(message).to_be_hidden()
        expect(_country_cells(page)).to_have_text(_countries_above(outputs.countries, 100))
    finally:
        outputs.remove(empty.lake_root)
    _assert_no_server_errors(empty.log)
