"""Every page of the served dashboard in chromium, over the fixture day and warehouse.

Expected numbers are computed here from the fixture rows (fixture_day, fixture_warehouse) in
plain Python; the pages must show them, formatted for reading.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser import fixture_warehouse as wh
from tests.browser.conftest import Shoot, assert_no_server_errors
from tests.browser.fixture_day import PAGES, Day

pytestmark = pytest.mark.browser


def countries_above(day: Day, threshold: int) -> list[str]:
    kept = [(country, count) for country, count in day.countries if count > threshold]
    return [country for country, _ in sorted(kept, key=lambda row: (-row[1], row[0]))]


def country_cells(page: Page) -> Locator:
    """First column of the table listing the countries shown beside the chart."""
    return page.locator("table.panel-df tbody tr td:first-child")


def test_overview_shows_the_day_in_numbers(page: Page, servers, day: Day, shoot: Shoot):
    page.goto(servers["full"].page_url("overview"))

    events = day.events
    views = events["identified"] + events["anonymous"]
    foreign = sum(count for _, count in day.countries)
    students = len({row["student_id"] for row in day.full})
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    cards = page.locator(".kpi .value")
    expect(cards).to_have_text(
        [
            f"{views:,}",  # page views
            f"{students:,}",  # active students: rows of active_students.csv
            f"{events['identified'] / views:.1%}",
            f"{foreign / (events['identified'] - events['null_country']):.1%}",
            "2017-11-16",
            re.compile(r"just now|\d+ min ago"),  # published when the session started
        ]
    )
    expect(page.get_by_text(f"{events['malformed']:,} malformed lines set aside")).to_be_visible()
    categories = Counter(PAGES[row["page_name"]] for row in day.full)
    top, top_views = min(categories.items(), key=lambda kv: (-kv[1], kv[0]))
    share = f"{top} alone is {top_views / len(day.full):.1%}"
    expect(page.get_by_text(share)).to_be_visible()
    expect(page.locator("nav a.current")).to_have_text("Overview")
    shoot(page, "overview")

    page.get_by_role("link", name="Data quality", exact=True).click()  # the sidebar's menu
    expect(page.get_by_role("heading", name="Data quality", exact=True)).to_be_visible()
    expect(page.locator("nav a.current")).to_have_text("Data quality")
    assert_no_server_errors(servers["full"].log)


def test_geography_charts_and_the_threshold(page: Page, servers, day: Day, shoot: Shoot):
    page.goto(servers["full"].page_url("geography"))

    per_state: dict[str, set] = defaultdict(set)
    for row in day.full:
        per_state[row["state"] or "(missing)"].add(row["student_id"])
    students = len({row["student_id"] for row in day.full})
    caption = f"{students:,} distinct students in {len(per_state)} states"
    expect(page.get_by_text(caption)).to_be_visible()
    expect(page.get_by_label("Minimum accesses")).to_have_value("100")
    expect(country_cells(page)).to_have_text(countries_above(day, 100))
    shoot(page, "geography")

    threshold = page.get_by_label("Minimum accesses")
    threshold.fill("50")
    threshold.press("Enter")
    expect(page.get_by_role("heading", name="with more than 50 accesses")).to_be_visible()
    shown = countries_above(day, 50)
    assert shown != countries_above(day, 100), "the fixture must have 50 < count <= 100"
    expect(country_cells(page)).to_have_text(shown)
    shoot(page, "geography-threshold-50")

    threshold.fill("10000")
    threshold.press("Enter")
    expect(page.get_by_text("No foreign country has more than 10,000 page views.")).to_be_visible()
    expect(country_cells(page)).to_have_count(0)

    page.get_by_role("button", name="Pie", exact=True).click()
    expect(page.get_by_text("distinct students in")).to_be_visible()
    assert page.locator("canvas").count() >= 1
    shoot(page, "geography-pie")
    assert_no_server_errors(servers["full"].log)


def test_users_page_shows_profiles_clients_and_hours(page: Page, servers, day: Day, shoot: Shoot):
    page.goto(servers["full"].page_url("users"))

    profiles = sum(count for _, count in day.users)
    expect(
        page.get_by_text(f"{profiles:,} page views across {len(day.users)} profiles")
    ).to_be_visible()
    clients = Counter(row["client"] for row in day.full)
    top, top_views = min(clients.items(), key=lambda kv: (-kv[1], kv[0]))
    expect(page.get_by_text(f"{top} leads with {top_views / len(day.full):.1%}")).to_be_visible()
    hours = Counter(int(row["at"][11:13]) for row in day.full)
    busy = min(hours.items(), key=lambda kv: (-kv[1], kv[0]))
    expect(page.get_by_text(f"Busiest at {busy[0]:02d}h ({busy[1]:,} page views)")).to_be_visible()
    for heading in (
        "Users per profile",
        "Page views per client",
        "Top courses",
        "Top universities",
    ):
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
    assert page.locator("canvas").count() >= 5
    shoot(page, "users")
    assert_no_server_errors(servers["full"].log)


def _latest_per_suite() -> dict[str, dict]:
    """validation_latest.sql, by hand: the newest load of each suite, its files summed."""
    newest: dict[str, tuple] = {}
    for v in wh.VALIDATIONS:
        if v[2] not in newest or v[8] > newest[v[2]][8]:
            newest[v[2]] = v
    out = {}
    for suite, latest in newest.items():
        files = [v for v in wh.VALIDATIONS if v[2] == suite and v[0] == latest[0]]
        out[suite] = {
            "met": sum(sum(c["success"] for c in v[5]) for v in files),
            "checks": sum(len(v[5]) for v in files),
            "rows": sum(v[6] for v in files),
            "rejected": sum(v[7] for v in files),
            "refused": sum(v[4] == "failed" for v in files),
        }
    return out


def _failed_checks(day: str) -> dict[tuple[str, str, str], int]:
    """failed_expectations.sql, by hand: unexpected rows of each failed check of the day."""
    found: Counter = Counter()
    for v in wh.VALIDATIONS:
        for check in v[5]:
            config = check["expectation_config"]
            if str(v[1]) == day and not check["success"]:
                key = (v[2], config["type"], config["kwargs"]["column"])
                found[key] += check["result"]["unexpected_count"]
    return dict(found)


def test_data_quality_shows_validations_rejects_and_docs(page: Page, servers, day: Day, shoot):
    page.goto(servers["full"].page_url("quality"))

    expect(page.get_by_role("heading", name="Latest validation per suite")).to_be_visible()
    for suite, row in _latest_per_suite().items():
        line = page.locator("table.panel-df tbody tr", has_text=suite).first
        expect(line).to_contain_text(f"{row['met']} of {row['checks']}")
        expect(line).to_contain_text(f"{row['rows']:,}")
        expect(line).to_contain_text(f"{row['rejected'] / row['rows']:.1%}")
        if row["refused"]:
            expect(line).to_contain_text("load refused")
    total = sum(v[7] for v in wh.VALIDATIONS)  # one validation per (run date, file) here
    expect(page.get_by_text(f"{total:,} rows rejected over the last 2 run dates")).to_be_visible()
    expect(page.get_by_role("heading", name="Failed checks on 2017-11-16")).to_be_visible()
    failed_rows = page.locator("table.panel-df").last.locator("tbody tr")
    expected = _failed_checks("2017-11-16")
    expect(failed_rows).to_have_count(len(expected))
    for (entity, kind, column), unexpected in expected.items():
        line = failed_rows.filter(has_text=entity).filter(has_text=kind).filter(has_text=column)
        expect(line.locator("td").last).to_have_text(f"{unexpected:,}")
    expect(page.get_by_text(f"{day.events['malformed']:,}", exact=True)).to_be_visible()
    shoot(page, "quality")

    with page.context.expect_page() as opened:
        page.get_by_role("link", name="Open the Data Docs").click()
    docs = opened.value
    expect(docs.get_by_role("heading", name="pdbi Data Docs")).to_be_visible()
    assert docs.url.endswith("/reports/data_docs/index.html")
    assert_no_server_errors(servers["full"].log)


def test_pipeline_falls_back_to_the_warehouse_history(page: Page, servers, shoot: Shoot):
    page.goto(servers["full"].page_url("pipeline"))

    expect(page.get_by_text("From the warehouse (meta.pipeline_runs).")).to_be_visible()
    expect(page.get_by_text("PREFECT_API_URL is not set")).to_be_visible()
    rows = page.locator("table.panel-df tbody tr")
    newest_first = sorted(wh.RUNS, key=lambda run: run[3], reverse=True)
    expect(rows).to_have_count(len(wh.RUNS))
    for row, run in zip(rows.all(), newest_first, strict=True):
        name, _day, state, started, finished, loaded, rejected, error = run
        seconds = int((finished - started).total_seconds())
        expect(row).to_contain_text(name)
        expect(row).to_contain_text(state)
        expect(row).to_contain_text(f"{seconds // 60} min {seconds % 60:02d} s")
        if loaded is not None:
            expect(row).to_contain_text(f"{loaded:,}")
            expect(row).to_contain_text(f"{rejected:,}")
        if error is not None:
            expect(row).to_contain_text(error)
    shoot(page, "pipeline")
    assert_no_server_errors(servers["full"].log)
