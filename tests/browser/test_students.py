"""The Students page in chromium: filters, server-side pages and the CSV download.

What each filter must keep is computed here from the fixture rows with plain Python; the page
must show that count, those rows on its first page and, downloaded, exactly those rows.
"""

from __future__ import annotations

import csv
import re
from collections import Counter

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Shoot, assert_no_server_errors
from tests.browser.fixture_day import FULL_HEADER, Day

pytestmark = pytest.mark.browser

TITLES = {"state": "State", "course": "Course", "university": "University", "client": "Client"}
LIMIT = 100  # PDBI_DASHBOARD_DOWNLOAD_ROWS of the full server (conftest)


def keep(rows: list[dict], **filters: str) -> list[dict]:
    return [row for row in rows if all(row[k] == v for k, v in filters.items())]


def count_text(page: Page, rows: int) -> None:
    expect(page.get_by_text(re.compile(rf"^{rows:,} page views\b"))).to_be_visible()


def choose(page: Page, column: str, value: str, rows: int) -> None:
    """Pick `value` in a filter; its label carries the rows it would keep."""
    page.get_by_label(TITLES[column], exact=True).select_option(label=f"{value} ({rows:,})")


def column_cells(page: Page, column: str):
    return page.locator(f".tabulator-row .tabulator-cell[tabulator-field='{column}']")


def test_each_filter_changes_the_table_and_its_count(page: Page, servers, day: Day, shoot: Shoot):
    page.goto(servers["full"].page_url("students"))
    count_text(page, len(day.full))
    expect(page.locator(".tabulator-row")).to_have_count(25)
    shoot(page, "students")

    chosen: dict[str, str] = {}
    before = len(day.full)
    for column in ("state", "course", "university", "client"):
        left = keep(day.full, **chosen)
        value, _ = min(Counter(row[column] for row in left if row[column]).items(),
                       key=lambda kv: (-kv[1], kv[0]))  # fmt: skip
        rows = keep(left, **{column: value})
        assert len(rows) != before, f"the fixture must make the {column} filter narrow the rows"
        choose(page, column, value, len(rows))
        chosen[column] = value
        count_text(page, len(rows))
        expect(page.locator(".tabulator-row")).to_have_count(min(25, len(rows)))
        for name, wanted in chosen.items():
            expect(column_cells(page, name)).to_have_text([wanted] * min(25, len(rows)))
        before = len(rows)
    shoot(page, "students-filtered")

    page.get_by_role("button", name="Clear filters").click()
    count_text(page, len(day.full))
    assert_no_server_errors(servers["full"].log)


def test_pages_come_from_the_server_in_file_order(page: Page, servers, day: Day):
    page.goto(servers["full"].page_url("students"))
    ids = column_cells(page, "student_id")
    expect(ids).to_have_text([row["student_id"] for row in day.full[:25]])

    page.locator(".tabulator-page[data-page=next]").click()
    expect(ids).to_have_text([row["student_id"] for row in day.full[25:50]])
    page.locator(".tabulator-page[data-page=last]").click()
    last = len(day.full) % 25 or 25
    expect(ids).to_have_text([row["student_id"] for row in day.full[-last:]])


def test_download_gives_the_filtered_rows(page: Page, servers, day: Day, tmp_path):
    page.goto(servers["full"].page_url("students"))
    button = page.get_by_role("button", name=re.compile(r"^Download .* rows \(CSV\)$"))
    assert len(day.full) > LIMIT, "the fixture must hold more rows than a download may"
    expect(button).to_be_disabled()
    expect(page.get_by_text(f"Narrow the filters to {LIMIT:,} rows or fewer")).to_be_visible()

    state = "Bahia"
    rows = keep(day.full, state=state)
    client = Counter(row["client"] for row in rows).most_common(1)[0][0]
    rows = keep(rows, client=client)
    choose(page, "state", state, len(keep(day.full, state=state)))
    choose(page, "client", client, len(rows))
    count_text(page, len(rows))
    expect(button).to_have_text(f"Download {len(rows):,} rows (CSV)")
    expect(button).to_be_enabled()

    with page.expect_download() as download_info:
        button.click()
    download = download_info.value
    assert download.suggested_filename == f"events-{state}-{client}.csv"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    with open(saved, encoding="utf-8", newline="") as handle:
        got = list(csv.reader(handle))
    assert got[0] == FULL_HEADER
    assert got[1:] == [[row[c] for c in FULL_HEADER] for row in rows]
