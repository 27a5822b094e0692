"""The dashboard across days in chromium: the day picker on every page, and the Trends page.

The full server's lake holds two day partitions (fixture_day.write_days) whose every figure
differs; what each page must show for a day is computed here from that day's fixture rows.
"""

from __future__ import annotations

import re
from collections import defaultdict

import pytest
from playwright.sync_api import Page, expect

from tests.browser import fixture_warehouse as wh
from tests.browser.conftest import PAGES, Shoot, assert_no_server_errors
from tests.browser.fixture_day import EARLIER_DATE, RUN_DATE, SERIES_EXTRA, Day, series_rows

pytestmark = pytest.mark.browser


def kpis(day: Day) -> list[str]:
    """The Overview's first five cards for a day, from its rows and manifest counts."""
    events = day.events
    views = events["identified"] + events["anonymous"]
    foreign = sum(count for _, count in day.countries)
    students = len({row["student_id"] for row in day.full})
    return [
        f"{views:,}",
        f"{students:,}",
        f"{events['identified'] / views:.1%}",
        f"{foreign / (events['identified'] - events['null_country']):.1%}",
        day.run_date,
    ]


def picker(page: Page):
    return page.get_by_label("Day", exact=True)


def test_the_picker_defaults_to_the_latest_day_and_switches_every_figure(
    page: Page, servers, days: dict[str, Day], shoot: Shoot
):
    assert kpis(days[EARLIER_DATE]) != kpis(days[RUN_DATE])  # the fixture's days must differ
    page.goto(servers["full"].page_url("overview"))
    expect(picker(page)).to_have_value(RUN_DATE)
    expect(picker(page).locator("option")).to_have_text([RUN_DATE, EARLIER_DATE])  # newest first
    expect(page.locator(".kpi .value").nth(4)).to_have_text(RUN_DATE)
    expect(page.locator(".kpi .value")).to_have_text([*kpis(days[RUN_DATE]), re.compile(".+")])

    picker(page).select_option(EARLIER_DATE)

    expect(page.locator(".kpi .value")).to_have_text([*kpis(days[EARLIER_DATE]), re.compile(".+")])
    expect(page.get_by_text(f"Data of {EARLIER_DATE}")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"[?&]day={EARLIER_DATE}\b"))
    shoot(page, "days-overview-earlier")

    # the menu carries the day to the next page
    page.get_by_role("link", name="Geography", exact=True).click()
    expect(page.get_by_role("heading", name="Geography", exact=True)).to_be_visible()
    expect(picker(page)).to_have_value(EARLIER_DATE)
    earlier = days[EARLIER_DATE]
    per_state: dict[str, set] = defaultdict(set)
    for row in earlier.full:
        per_state[row["state"]].add(row["student_id"])
    students = len({row["student_id"] for row in earlier.full})
    expect(
        page.get_by_text(f"{students:,} distinct students in {len(per_state)} states")
    ).to_be_visible()
    kept = sorted(((c, n) for c, n in earlier.countries if n > 100), key=lambda r: (-r[1], r[0]))
    expect(page.locator("table.panel-df tbody tr td:first-child")).to_have_text(
        [country for country, _ in kept]
    )
    shoot(page, "days-geography-earlier")

    picker(page).select_option(RUN_DATE)  # and back
    latest = days[RUN_DATE]
    students = len({row["student_id"] for row in latest.full})
    expect(page.get_by_text(f"{students:,} distinct students in ")).to_be_visible()
    assert_no_server_errors(servers["full"].log)


@pytest.mark.parametrize("name", [p for p in PAGES if p != "overview"])
def test_every_page_has_the_picker_and_keeps_the_days_of_the_url(page: Page, servers, name: str):
    page.goto(servers["full"].page_url(name, EARLIER_DATE))
    expect(picker(page)).to_have_value(EARLIER_DATE)
    expect(page.get_by_text(f"Data of {EARLIER_DATE}")).to_be_visible()
    links = page.locator("nav[aria-label=Pages] a")
    expect(links).to_have_count(len(PAGES))
    for href in [links.nth(i).get_attribute("href") for i in range(len(PAGES))]:
        assert href.endswith(f"?day={EARLIER_DATE}"), href


def test_students_table_reads_the_days_parquet(page: Page, servers, days: dict[str, Day]):
    earlier, latest = days[EARLIER_DATE], days[RUN_DATE]
    page.goto(servers["full"].page_url("students", EARLIER_DATE))
    expect(page.get_by_text(re.compile(rf"^{len(earlier.full):,} page views\b"))).to_be_visible()
    ids = page.locator(".tabulator-row .tabulator-cell[tabulator-field='student_id']")
    expect(ids).to_have_text([row["student_id"] for row in earlier.full[:25]])
    page.locator(".tabulator-page[data-page=last]").click()
    last = len(earlier.full) % 25 or 25
    expect(ids).to_have_text([row["student_id"] for row in earlier.full[-last:]])
    at = page.locator(".tabulator-row .tabulator-cell[tabulator-field='at']")
    expect(at).to_have_text([row["at"] for row in earlier.full[-last:]])

    picker(page).select_option(RUN_DATE)

    expect(page.get_by_text(re.compile(rf"^{len(latest.full):,} page views\b"))).to_be_visible()
    expect(ids).to_have_text([row["student_id"] for row in latest.full[:25]])
    assert_no_server_errors(servers["full"].log)


def formatted(column: str, value: object) -> str:
    """A series value as the page writes it: counts with separators, shares in percent."""
    if column == "foreign_share":
        return f"{float(value):.1%}"
    number = float(value)
    return f"{int(number):,}" if number.is_integer() else f"{number:,.2f}"


LABELS = {
    "page_views": "Page views", "identified_views": "Identified page views",
    "active_students": "Active students", "foreign_share": "Foreign share",
    "views_per_profile": "Page views per profile",
    "new_versions_students": "New versions of students",
    "new_versions_universities": "New versions of universities",
    "new_versions_courses": "New versions of courses",
    "new_versions_subjects": "New versions of subjects",
    SERIES_EXTRA: SERIES_EXTRA,  # no label: the column's own name
}  # fmt: skip


def test_trends_plot_every_series_column(page: Page, servers, days: dict[str, Day], shoot: Shoot):
    rows = series_rows(days)
    columns = [c for c in rows[0] if c != "day"]
    page.goto(servers["full"].page_url("trends"))

    expect(page.get_by_role("heading", name="Trends", exact=True)).to_be_visible()
    first, last = rows[0]["day"], rows[-1]["day"]
    caption = f"{len(rows)} days, from {first} to {last}; {len(columns)} measures."
    expect(page.get_by_text(caption)).to_be_visible()
    table = page.locator("table.panel-df")
    expect(table.locator("thead th")).to_have_text(["Day", *(LABELS[c] for c in columns)])
    for i, row in enumerate(reversed(rows)):  # newest first
        cells = table.locator("tbody tr").nth(i).locator("td")
        expect(cells).to_have_text([row["day"], *(formatted(c, row[c]) for c in columns)])
    expect(page.locator(".bk-Canvas, canvas").first).to_be_visible()
    shoot(page, "trends")
    assert_no_server_errors(servers["full"].log)


def test_quality_lists_the_days_accepted_despite_a_guard(page: Page, servers, shoot: Shoot):
    accepted = [g for g in wh.GUARD_DECISIONS if g[4] == "accepted"]
    stopped = [g for g in wh.GUARD_DECISIONS if g[4] == "stopped"]
    _, run_date, _, source, _, message = accepted[0]
    day = run_date.isoformat()
    page.goto(servers["full"].page_url("quality", day))

    expect(page.get_by_role("heading", name="Days accepted despite a failed guard")).to_be_visible()
    expect(page.get_by_text(f"The day shown, {day}, is one of them.")).to_be_visible()
    expect(page.get_by_role("cell", name=source, exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name=message, exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name=stopped[0][3], exact=True)).to_have_count(0)
    shoot(page, "quality-accepted-day")

    page.goto(servers["full"].page_url("quality"))
    expect(page.get_by_role("cell", name=source, exact=True)).to_be_visible()
    expect(page.get_by_text("is one of them.")).to_have_count(0)
    assert_no_server_errors(servers["full"].log)
