"""The dashboard's store across days: partitions, the root fallback and the daily series.

Each test writes its own tiny day partitions (day=<day>/...), root files and series file, and
computes what the store must answer from what it wrote.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from panel_app.store import (
    MANIFEST,
    SERIES,
    AnalyticsStore,
    load_manifest,
    load_output,
    load_series,
    partition,
)
from tasks.errors import DataError
from tasks.resources.lake import Lake, get_lake

pytestmark = pytest.mark.unit

# day -> foreign countries and event counts: every figure differs between the days
DAYS = {
    "2017-11-14": ([("us", 300), ("pt", 120)], {"identified": 700, "anonymous": 100}),
    "2017-11-15": ([("us", 900), ("ar", 150)], {"identified": 1200, "anonymous": 300}),
    "2017-11-16": ([("us", 1500), ("de", 101)], {"identified": 2000, "anonymous": 500}),
}


@pytest.fixture
def lake(isolated_settings: Path) -> Iterator[Lake]:
    for loader in (load_output, load_manifest, load_series):
        loader.clear()
    lake = get_lake()
    lake.ensure_zones()
    yield lake


def csv_bytes(header: list[str], rows: list[tuple]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return text.getvalue().encode("utf-8")


def put(lake: Lake, name: str, body: bytes) -> None:
    with lake.write_atomic("analytics", name) as out:
        out.write(body)


def publish(lake: Lake, day: str, root: bool = False, partitioned: bool = True) -> None:
    """A day's country.csv and manifest, in its partition and/or at the root, manifest last."""
    countries, events = DAYS[day]
    manifest = json.dumps({"run_date": day, "events": events, "outputs": {}}).encode()
    folders = ([partition(day)] if partitioned else []) + ([""] if root else [])
    for folder in folders:
        put(lake, folder + "country.csv", csv_bytes(["country", "count"], countries))
        put(lake, folder + MANIFEST, manifest)


def foreign(store: AnalyticsStore) -> list[tuple[str, int]]:
    frame = store.foreign_countries()
    return list(zip(frame["country"], frame["count"].astype(int), strict=True))


def expected_foreign(day: str, threshold: int = 100) -> list[tuple[str, int]]:
    return sorted(((c, n) for c, n in DAYS[day][0] if n > threshold), key=lambda r: (-r[1], r[0]))


def test_days_are_the_partitions_with_a_manifest_latest_shown_first(lake: Lake) -> None:
    for day in DAYS:
        publish(lake, day, root=day == max(DAYS))
    put(lake, partition("2017-11-17") + "country.csv", b"country,count\nus,1\n")  # no manifest

    store = AnalyticsStore()

    assert store.days() == sorted(DAYS)
    assert store.shown_day() == max(DAYS)
    assert store.folder() == partition(max(DAYS))
    assert foreign(store) == expected_foreign(max(DAYS))
    events = DAYS[max(DAYS)][1]
    assert store.summary().page_views == events["identified"] + events["anonymous"]


def test_choosing_a_day_reads_its_partition_and_an_unknown_day_falls_back(lake: Lake) -> None:
    for day in DAYS:
        publish(lake, day, root=day == max(DAYS))
    store = AnalyticsStore()

    for day in DAYS:
        store.day = day
        assert store.shown_day() == day
        assert foreign(store) == expected_foreign(day)
        assert store.summary().run_date == day
        events = DAYS[day][1]
        assert store.summary().page_views == events["identified"] + events["anonymous"]

    store.day = "2001-01-01"  # not published (a stale link): the latest day
    assert store.shown_day() == max(DAYS)
    assert foreign(store) == expected_foreign(max(DAYS))


def test_a_lake_published_before_partitions_shows_its_root(lake: Lake) -> None:
    publish(lake, "2017-11-15", root=True, partitioned=False)

    store = AnalyticsStore()

    assert store.days() == ["2017-11-15"]
    assert store.folder() == ""
    assert foreign(store) == expected_foreign("2017-11-15")
    assert store.summary().run_date == "2017-11-15"


def test_the_roots_day_joins_the_partitions_when_none_holds_it(lake: Lake) -> None:
    """The first partitioned run after an upgrade: the old root day is still there."""
    publish(lake, "2017-11-14", root=True, partitioned=False)
    publish(lake, "2017-11-15")  # partition only (the root moves when the pipeline says so)

    store = AnalyticsStore()

    assert store.days() == ["2017-11-14", "2017-11-15"]
    store.day = "2017-11-14"
    assert store.folder() == ""
    assert foreign(store) == expected_foreign("2017-11-14")


def test_an_empty_zone_has_no_day(lake: Lake) -> None:
    store = AnalyticsStore()

    assert store.days() == [] and store.shown_day() is None
    assert store.summary() is None and store.series() is None
    assert store.foreign_countries().empty


def test_reprocessing_an_older_day_reloads_and_a_new_day_becomes_the_default(lake: Lake) -> None:
    publish(lake, "2017-11-14")
    publish(lake, "2017-11-15", root=True)
    store = AnalyticsStore()
    assert not store.reload_if_published()

    # the older day reprocessed: only its partition changes, its figures with it
    DAYS["2017-11-14"][0].append(("jp", 555))
    try:
        publish(lake, "2017-11-14")
        assert store.reload_if_published()
        store.day = "2017-11-14"
        assert foreign(store) == expected_foreign("2017-11-14")
    finally:
        DAYS["2017-11-14"][0].pop()

    publish(lake, "2017-11-16", root=True)
    assert store.reload_if_published()
    assert store.days() == sorted(DAYS)
    store.day = None
    assert store.shown_day() == "2017-11-16"


def test_a_broken_partition_file_is_a_data_error_naming_it(lake: Lake) -> None:
    publish(lake, "2017-11-15")
    put(lake, partition("2017-11-15") + "country.csv", b"pais,total\nus,1\n")

    with pytest.raises(DataError, match=r"day=2017-11-15/country\.csv"):
        AnalyticsStore().foreign_countries()


SERIES_HEADER = ["day", "page_views", "foreign_share", "new_metric", "note"]
SERIES_ROWS = [  # written out of order; "note" holds text, so it is no series
    ("2017-11-16", 2500, 0.031, 7, "late"),
    ("2017-11-14", 800, 0.0125, "", "ok"),
    ("2017-11-15", 1500, 0.02, 3, "ok"),
]


def test_the_series_is_every_numeric_column_in_day_order(lake: Lake) -> None:
    put(lake, SERIES, csv_bytes(SERIES_HEADER, SERIES_ROWS))

    series = AnalyticsStore().series()

    ordered = sorted(SERIES_ROWS)
    assert list(series.columns) == ["day", "page_views", "foreign_share", "new_metric"]
    assert list(series["day"]) == [row[0] for row in ordered]
    assert list(series["page_views"]) == [float(row[1]) for row in ordered]
    assert list(series["foreign_share"]) == [row[2] for row in ordered]
    assert series["new_metric"].isna().tolist() == [row[3] == "" for row in ordered]


def test_a_series_without_days_is_a_data_error(lake: Lake) -> None:
    put(lake, SERIES, csv_bytes(["date", "page_views"], [("2017-11-16", 1)]))
    with pytest.raises(DataError, match="series/daily.csv"):
        AnalyticsStore().series()
    load_series.clear()
    put(lake, SERIES, csv_bytes(["day", "page_views"], [("16/11/2017", 1)]))
    with pytest.raises(DataError, match="YYYY-MM-DD"):
        AnalyticsStore().series()


def test_partitions_on_a_memory_lake() -> None:
    """Listing the partitions goes through fsspec: any backend the pipeline writes to."""
    lake = Lake("memory://pdbi-unit-days")
    lake.ensure_zones()
    try:
        for day in DAYS:
            publish(lake, day, root=day == max(DAYS))
        put(lake, SERIES, csv_bytes(SERIES_HEADER, SERIES_ROWS))
        store = AnalyticsStore(lake=lake)
        assert store.days() == sorted(DAYS)
        store.day = min(DAYS)
        assert foreign(store) == expected_foreign(min(DAYS))
        assert len(store.series()) == len(SERIES_ROWS)
    finally:
        lake.fs.rm(lake.root, recursive=True)


def test_the_picker_lists_the_days_newest_first_and_the_menu_carries_a_choice(lake: Lake) -> None:
    import panel as pn

    from panel_app.app import _links, day_picker, navigation

    for day in DAYS:
        publish(lake, day, root=day == max(DAYS))
    store = AnalyticsStore()
    picker = day_picker(store)
    menu = navigation("geography", store)

    assert picker.options == sorted(DAYS, reverse=True)
    assert picker.value == max(DAYS) and not picker.disabled
    assert "?day=" not in menu.object  # the latest day by default: links without a day

    picker.value = min(DAYS)

    assert store.day == min(DAYS) and store.shown_day() == min(DAYS)
    assert menu.object == _links("geography", min(DAYS))
    assert f'href="./users?day={min(DAYS)}"' in menu.object
    assert isinstance(menu, pn.pane.HTML)


def test_a_lake_of_one_day_has_a_disabled_picker(lake: Lake) -> None:
    from panel_app.app import day_picker

    publish(lake, "2017-11-15", root=True, partitioned=False)
    picker = day_picker(AnalyticsStore())
    assert picker.options == ["2017-11-15"] and picker.value == "2017-11-15" and picker.disabled


@pytest.mark.parametrize(
    ("args", "day"),
    [({"day": [b"2017-11-15"]}, "2017-11-15"), ({"day": [b"../etc"]}, None), ({}, None),
     ({"day": [b"2017-11-15' or 1=1"]}, None)],
)  # fmt: skip
def test_only_a_date_in_the_url_chooses_a_day(monkeypatch, args: dict, day: str | None) -> None:
    import panel as pn

    from panel_app.app import requested_day

    monkeypatch.setattr(type(pn.state), "session_args", property(lambda _self: args))
    assert requested_day() == day


def test_trends_without_a_series_says_what_to_run(lake: Lake) -> None:
    import panel as pn

    from panel_app.pages.trends import NO_SERIES, TrendsPage

    page = TrendsPage(store=AnalyticsStore())
    (alert,) = pn.panel(page.draw()).select(pn.pane.Alert)
    assert alert.object == NO_SERIES and "pdbi run --date 2017-11-16" in NO_SERIES


def test_trends_label_the_known_series_and_name_the_others(lake: Lake) -> None:
    from panel_app.pages.trends import series_table

    put(lake, SERIES, csv_bytes(SERIES_HEADER, SERIES_ROWS))
    listing = series_table(AnalyticsStore().series())

    assert list(listing.columns) == ["Day", "Page views", "Foreign share", "new_metric"]
    newest = sorted(SERIES_ROWS, reverse=True)
    assert list(listing["Day"]) == [row[0] for row in newest]
    assert list(listing["Page views"]) == [f"{row[1]:,}" for row in newest]
    assert list(listing["Foreign share"]) == [f"{row[2]:.1%}" for row in newest]
    assert list(listing["new_metric"]) == [str(row[3]) if row[3] != "" else "—" for row in newest]
