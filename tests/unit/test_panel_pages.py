"""The dashboard's views without a browser: what each page puts on screen, from a tiny day."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import panel as pn
import pytest

from panel_app.app import PAGES, TITLE, build_page
from panel_app.events import ALL, count_rows, value_rows
from panel_app.pages.geography import GeographyPage
from panel_app.pages.quality import QualityPage
from panel_app.pages.students import EVERY, PAGE_SIZE, StudentsPage
from panel_app.store import EMPTY_MESSAGE, AnalyticsStore, load_manifest, load_output
from panel_app.warehouse import LOADERS
from tasks.resources.lake import Lake, get_lake
from tests.browser.fixture_day import Day, publish_day

pytestmark = pytest.mark.unit


@pytest.fixture
def lake(isolated_settings: Path) -> Iterator[Lake]:
    for loader in (load_output, load_manifest, count_rows, value_rows, *LOADERS):
        loader.clear()
    lake = get_lake()
    lake.ensure_zones()
    yield lake


def texts(viewable: pn.viewable.Viewable) -> str:
    """Every sentence of a rendered layout, Markdown, HTML and alerts alike."""
    root = pn.panel(viewable)
    root.get_root()  # evaluate the bound functions, as a session would
    panes = root.select(lambda obj: isinstance(obj, pn.pane.Markdown | pn.pane.HTML))
    return "\n".join(str(pane.object) for pane in panes)


def alerts(viewable: pn.viewable.Viewable, kind: str) -> list[str]:
    return [a.object for a in pn.panel(viewable).select(pn.pane.Alert) if a.alert_type == kind]


@pytest.mark.parametrize("slug", list(PAGES))
def test_each_page_is_built_fresh_in_the_template(lake: Lake, slug: str) -> None:
    first, second = build_page(slug), build_page(slug)

    label, page_class = PAGES[slug]
    assert first is not second
    assert first.title == (TITLE if not slug else f"{TITLE} · {label}")
    assert f"# {page_class.title}" in texts(first.main[0])
    assert f'class="current">{label}</a>' in first.sidebar[0].object


def test_each_session_has_its_own_threshold(lake: Lake) -> None:
    publish_day(lake)
    first, second = build_page("geography"), build_page("geography")
    (first_input,) = first.main[0].select(pn.widgets.IntInput)
    (second_input,) = second.main[0].select(pn.widgets.IntInput)
    first_input.value = 50
    assert second_input.value == 100


@pytest.mark.parametrize("slug", ["", "geography", "users", "students"])
def test_before_the_first_run_a_page_names_the_commands(lake: Lake, slug: str) -> None:
    page = PAGES[slug][1](store=AnalyticsStore())
    assert alerts(page, "info") == [EMPTY_MESSAGE]
    assert "pdbi run --date 2017-11-16" in EMPTY_MESSAGE


def test_overview_cards_hold_the_manifest_numbers(lake: Lake) -> None:
    day: Day = publish_day(lake)
    page = build_page("").main[0]

    shown = texts(page)
    assert alerts(page, "danger") == []

    views = day.events["identified"] + day.events["anonymous"]
    assert f'<div class="value">{views:,}</div>' in shown
    assert f'<div class="value">{day.events["identified"] / views:.1%}</div>' in shown
    assert "Highlights" in shown and "What students viewed" in shown
    assert not alerts(page, "danger")


def test_geography_heading_follows_the_threshold(lake: Lake) -> None:
    publish_day(lake)
    page = GeographyPage(store=AnalyticsStore())
    layout = pn.panel(page)
    layout.get_root()
    page.store.threshold = 250
    assert "Foreign countries with more than 250 accesses" in texts(layout)


def test_students_filters_change_the_table_the_count_and_the_download(lake: Lake) -> None:
    day = publish_day(lake)
    page = StudentsPage(store=AnalyticsStore(), max_download_rows=100)
    pn.panel(page).get_root()
    assert page._table._length == len(day.full)
    assert page._download.disabled  # 240 rows > 100

    page._selects["state"].value = "Bahia"

    bahia = [row for row in day.full if row["state"] == "Bahia"]
    assert page._table._length == len(bahia)
    assert page._count.object.startswith(f"**{len(bahia):,} page views** for state Bahia")
    assert not page._download.disabled
    assert page._download.filename == "events-Bahia.csv"
    assert page._table.page == 1 and page._table.page_size == PAGE_SIZE

    page._clear.clicks += 1
    assert page.events.state is ALL and page._selects["state"].value == EVERY
    assert page._selects["state"].options[f"All ({len(day.full)})"] == EVERY
    assert page._table._length == len(day.full)


def test_students_table_maps_a_page_row_to_its_index_lazily(lake: Lake) -> None:
    day = publish_day(lake)
    page = StudentsPage(store=AnalyticsStore())
    pn.panel(page).get_root()
    page._selects["client"].value = "iOS"

    mapping = page._table._index_mapping
    ios = [row for row in day.full if row["client"] == "iOS"]
    assert page._table._length == len(ios)
    assert len(page._table.shown()) == min(PAGE_SIZE, len(ios))  # one page held, no more
    assert mapping.get(0) == page._table.shown().index[0] == 0
    assert mapping.get(10**9, "none") == "none"


def test_quality_without_a_warehouse_says_why_in_a_warning(lake: Lake) -> None:
    publish_day(lake)
    page = QualityPage(store=AnalyticsStore())

    warning = page._validations()

    assert isinstance(warning, pn.pane.Alert) and warning.alert_type == "warning"
    assert "pdbi run --date 2017-11-16" in warning.object
    assert "No Data Docs in the lake's reports zone yet" in texts(page)


def test_quality_says_when_the_last_data_docs_build_failed(lake: Lake) -> None:
    publish_day(lake)
    with lake.write_atomic("reports", "data_docs/index.html") as out:
        out.write(b"<html>an older build</html>")
    page = QualityPage(store=AnalyticsStore())
    assert "Open the Data Docs" in texts(page._docs_link())
    status = {"run_date": "2017-11-16", "error": "ValueError: root_directory must be absolute"}
    with lake.write_atomic("reports", "data_docs/status.json") as out:
        out.write(json.dumps(status).encode())

    (warning,) = alerts(page._docs_link(), "warning")

    assert warning.startswith("The Data Docs are out of date: the build of 2017-11-16 failed: ")
    assert "root_directory must be absolute" in warning
    assert "Open the Data Docs" not in texts(page._docs_link())


def test_students_missing_value_is_a_filter_of_its_own(lake: Lake) -> None:
    day = publish_day(lake)
    page = StudentsPage(store=AnalyticsStore())
    pn.panel(page).get_root()
    missing = [row for row in day.full if row["state"] == ""]
    assert page._selects["state"].options[f"(missing) ({len(missing)})"] == ""

    page._selects["state"].value = ""

    assert page.events.state == ""
    assert page._table._length == len(missing) > 0
    assert "for state (missing)" in page._count.object
