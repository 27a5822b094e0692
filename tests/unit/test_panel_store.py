"""The dashboard's AnalyticsStore on tiny CSVs in real lakes; expectations computed here by hand."""

from __future__ import annotations

import csv
import io
import json
import os
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from panel_app.charts import percent
from panel_app.pages.overview import age
from panel_app.store import (
    MANIFEST,
    MISSING_LABEL,
    OUTPUTS,
    AnalyticsStore,
    load_manifest,
    load_output,
)
from tasks.errors import DataError
from tasks.resources.lake import Lake, get_lake

pytestmark = pytest.mark.unit

# "na" is Namibia (not a missing value); "de" sits exactly on the default threshold of 100.
COUNTRIES = [("us", 1500), ("pt", 320), ("ar", 101), ("de", 100), ("fr", 75), ("na", 60)]
# Values as exported: a space-less "CoreUser", an empty profile, and "Core User" written twice.
PROFILES = [("Core User", 50), ("Casual User", 20), ("CoreUser", 5), ("", 2), ("yes", 20),
            ("Core User", 7)]  # fmt: skip
STATES = [("São Paulo", 3), ("Bahia", 2), ("Rio de Janeiro", 2), ("Acre", 1), ("", 1)]
# hour "" is views with no readable time; hours 2..22 have none and must come back as 0
HOURS = [(0, 10), (1, 3), (23, 40), ("", 6)]
CLIENTS = [("Website", 30), ("Android", 30), ("iOS", 5), ("", 1)]
COURSES = [("Direito", 30, 10), ("Pedagogia", 30, 12), ("", 5, 2)]
EVENTS = {"read": 1000, "malformed": 10, "anonymous": 190, "identified": 800, "null_country": 20}


@pytest.fixture
def lake(isolated_settings: Path) -> Iterator[Lake]:
    """The lake of the test's own settings (a folder under tmp_path), zones made."""
    load_output.clear()
    load_manifest.clear()
    lake = get_lake()
    lake.ensure_zones()
    yield lake


def write_csv(lake: Lake, name: str, header: list[str], rows: list[tuple]) -> None:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    with lake.write_atomic("analytics", name) as out:
        out.write(text.getvalue().encode("utf-8"))


def write_manifest(lake: Lake, run_date: str = "2017-11-16", active: int = 321) -> None:
    manifest = {
        "run_date": run_date,
        "events": EVENTS,
        "outputs": {"active_students.csv": {"rows": active, "bytes": 1, "sha256": "x"}},
    }
    with lake.write_atomic("analytics", MANIFEST) as out:
        out.write(json.dumps(manifest).encode("utf-8"))  # fmt: skip


def write_all(lake: Lake) -> None:
    write_csv(lake, "country.csv", ["country", "count"], COUNTRIES)
    write_csv(lake, "users.csv", ["custom_4", "count"], PROFILES)
    write_csv(lake, "states.csv", ["state", "students"], STATES)
    write_csv(lake, "hours.csv", ["hour", "page_views"], HOURS)
    write_csv(lake, "clients.csv", ["client", "page_views"], CLIENTS)
    write_csv(lake, "courses.csv", ["course", "page_views", "students"], COURSES)
    write_manifest(lake)


def ranked(totals: dict[str, int]) -> list[tuple[str, int]]:
    """Most first; on a tie by name, with the missing key after the named ones."""
    return sorted(totals.items(), key=lambda item: (-item[1], item[0] == MISSING_LABEL, item[0]))


def rows(frame: pd.DataFrame) -> list[tuple]:
    return [tuple(int(v) if isinstance(v, int | float) else v for v in row)
            for row in frame.itertuples(index=False)]  # fmt: skip


def test_users_per_state_largest_first_and_the_empty_state_named(lake: Lake) -> None:
    write_all(lake)

    frame = AnalyticsStore().users_per_state()

    assert list(frame.columns) == ["state", "students"]
    assert rows(frame) == ranked({state or MISSING_LABEL: n for state, n in STATES})


def test_foreign_countries_keeps_only_more_than_the_threshold(lake: Lake) -> None:
    write_all(lake)
    store = AnalyticsStore()
    assert store.threshold == 100

    assert rows(store.foreign_countries()) == ranked({c: n for c, n in COUNTRIES if n > 100})

    store.threshold = 50
    assert {c for c, _ in rows(store.foreign_countries())} == {c for c, n in COUNTRIES if n > 50}


def test_users_per_profile_sums_repeats_and_keeps_values_as_exported(lake: Lake) -> None:
    write_all(lake)
    totals: dict[str, int] = defaultdict(int)
    for profile, count in PROFILES:
        totals[profile or MISSING_LABEL] += count

    assert rows(AnalyticsStore().users_per_profile()) == ranked(totals)


def test_views_per_key_ranked_with_students_when_the_output_has_them(lake: Lake) -> None:
    write_all(lake)
    courses = sorted(((c or MISSING_LABEL, v, s) for c, v, s in COURSES),
                     key=lambda r: (-r[1], r[0] == MISSING_LABEL, r[0]))  # fmt: skip
    clients = sorted(((c or MISSING_LABEL, v) for c, v in CLIENTS),
                     key=lambda r: (-r[1], r[0] == MISSING_LABEL, r[0]))  # fmt: skip

    assert rows(AnalyticsStore().views_per("courses.csv")) == courses
    assert rows(AnalyticsStore().views_per("clients.csv")) == clients
    assert rows(AnalyticsStore().views_per("clients.csv", limit=1)) == clients[:1]


def test_an_earlier_run_with_students_per_client_still_reads(lake: Lake) -> None:
    write_csv(lake, "clients.csv", ["client", "page_views", "students"], [("iOS", 5, 2)])
    assert rows(AnalyticsStore().views_per("clients.csv")) == [("iOS", 5, 2)]


def test_views_per_hour_is_the_whole_day_in_order(lake: Lake) -> None:
    write_all(lake)
    known = {hour: views for hour, views in HOURS if hour != ""}

    frame = AnalyticsStore().views_per_hour()

    assert rows(frame) == [(h, known.get(h, 0)) for h in range(24)]


def test_summary_from_the_manifest(lake: Lake) -> None:
    write_all(lake)

    day = AnalyticsStore().summary()

    assert day is not None and day.run_date == "2017-11-16"
    assert day.page_views == EVENTS["identified"] + EVENTS["anonymous"]
    assert day.identified_share == EVENTS["identified"] / 990
    foreign = sum(n for _, n in COUNTRIES)
    assert day.foreign_share == foreign / (EVENTS["identified"] - EVENTS["null_country"])
    assert day.active_students == 321
    assert day.published_at is not None
    assert abs(datetime.now(UTC) - day.published_at) < timedelta(minutes=1)


def test_empty_lake_has_no_outputs_empty_frames_and_no_summary(lake: Lake) -> None:
    store = AnalyticsStore()

    assert store.missing() == [*OUTPUTS, MANIFEST]
    assert not store.has_outputs()
    assert store.summary() is None
    assert store.users_per_state().empty and store.foreign_countries().empty
    assert store.views_per("courses.csv").empty
    assert rows(store.views_per_hour()) == [(h, 0) for h in range(24)]


def test_a_newer_file_is_read_without_refresh(lake: Lake) -> None:
    write_all(lake)
    store = AnalyticsStore()
    assert "br" not in set(store.foreign_countries()["country"])

    write_csv(lake, "country.csv", ["country", "count"], [*COUNTRIES, ("br", 5000)])

    assert store.foreign_countries()["country"].iloc[0] == "br"


def test_refresh_rereads_a_file_replaced_with_same_size_and_time(lake: Lake) -> None:
    write_all(lake)
    store = AnalyticsStore()
    path = Path(lake.path("analytics", "country.csv"))
    before = os.stat(path)
    assert rows(store.foreign_countries())[0] == ("us", 1500)

    write_csv(lake, "country.csv", ["country", "count"], [("uk", 1500), *COUNTRIES[1:]])
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert rows(store.foreign_countries())[0] == ("us", 1500)  # the cache cannot tell

    version = store.version
    store.refresh()

    assert store.version == version + 1
    assert rows(store.foreign_countries())[0] == ("uk", 1500)


def test_a_newer_manifest_reloads_once(lake: Lake) -> None:
    store = AnalyticsStore()
    assert not store.reload_if_published()  # nothing published, nothing seen

    write_all(lake)
    assert store.reload_if_published()
    assert store.version == 1
    assert not store.reload_if_published()  # the same manifest again

    write_manifest(lake, run_date="2017-11-17", active=999)  # a bigger file, a newer time
    assert store.reload_if_published()
    assert store.summary().run_date == "2017-11-17"


def test_an_output_without_its_columns_is_a_data_error(lake: Lake) -> None:
    write_csv(lake, "country.csv", ["pais", "total"], [("us", 1)])

    with pytest.raises(DataError, match="country.csv"):
        AnalyticsStore().foreign_countries()


def test_an_unreadable_manifest_is_a_data_error(lake: Lake) -> None:
    with lake.write_atomic("analytics", MANIFEST) as out:
        out.write(b"{not json")

    with pytest.raises(DataError, match=MANIFEST):
        AnalyticsStore().summary()


def test_a_memory_lake_works_like_a_folder() -> None:
    """The store reads through the lake module only: any fsspec backend will do."""
    lake = Lake("memory://pdbi-unit-store")
    lake.ensure_zones()
    try:
        write_all(lake)
        store = AnalyticsStore(lake=lake)
        assert rows(store.users_per_state())[0] == ("São Paulo", 3)
        assert store.summary().page_views == 990
    finally:
        lake.fs.rm(lake.root, recursive=True)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(5, "just now"), (59, "just now"), (60, "1 min ago"), (3599, "59 min ago"),
     (3600, "1 h ago"), (47 * 3600, "47 h ago"), (3 * 86400, "3 days ago")],
)  # fmt: skip
def test_age_reads_well(seconds: int, text: str) -> None:
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    assert age(now - timedelta(seconds=seconds), now) == text
    assert age(None) == "unknown"


def test_percent_keeps_tiny_shares_visible() -> None:
    assert [percent(x) for x in (0, 0.0004, 0.0006, 0.123, 1)] == [
        "0.0%", "<0.1%", "0.1%", "12.3%", "100.0%"
    ]  # fmt: skip
