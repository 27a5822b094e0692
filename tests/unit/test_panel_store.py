"""The dashboard store on tiny CSVs in a real local lake; expectations computed here, by hand."""

from __future__ import annotations

import csv
import io
import os
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import panel as pn
import pytest

from panel_app import store as store_module
from panel_app.pages.overview import OverviewPage
from panel_app.store import EMPTY_MESSAGE, MISSING_LABEL, OUTPUTS, AnalyticsStore, load_output
from tasks.errors import DataError
from tasks.resources import lake as lake_module
from tasks.resources.lake import Lake, get_lake
from tasks.settings import get_settings

pytestmark = pytest.mark.unit

# "na" is Namibia (not a missing value); "de" sits exactly on the default threshold of 100.
COUNTRIES = [("us", 1500), ("pt", 320), ("ar", 101), ("de", 100), ("fr", 75), ("na", 60)]
# Values as exported: a space-less "CoreUser", an empty profile, and "Core User" written twice.
PROFILES = [
    ("Core User", 50),
    ("Casual User", 20),
    ("CoreUser", 5),
    ("", 2),
    ("yes", 20),
    ("Core User", 7),
]
# (student_id, state): s1 has two events in one state, s8 has none.
EVENTS = [
    ("s1", "São Paulo"),
    ("s1", "São Paulo"),
    ("s2", "São Paulo"),
    ("s3", "Bahia"),
    ("s4", "Rio de Janeiro"),
    ("s5", "Rio de Janeiro"),
    ("s6", "Bahia"),
    ("s7", "Acre"),
    ("s8", ""),
]
FULL_HEADER = [
    "student_id",
    "client",
    "at",
    "browser",
    "country",
    "custom_4",
    "page_name",
    "last_accessed_url",
    "state",
    "city",
    "university",
    "course",
]


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lake]:
    monkeypatch.setenv("PDBI_LAKE_URL", str(tmp_path / "lake"))
    get_settings.cache_clear()
    lake_module._lake_for.cache_clear()
    load_output.clear()
    lake = get_lake()
    lake.ensure_zones()
    yield lake
    load_output.clear()


def write_csv(lake: Lake, name: str, header: list[str], rows: list[tuple]) -> None:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    with lake.write_atomic("analytics", name) as out:
        out.write(text.getvalue().encode("utf-8"))


def write_all(lake: Lake) -> None:
    write_csv(lake, "country.csv", ["country", "count"], COUNTRIES)
    write_csv(lake, "users.csv", ["custom_4", "count"], PROFILES)
    events = [
        (
            sid,
            "Website",
            "2017-11-16 10:00:00",
            "Chrome",
            "br",
            "Core User",
            "Home",
            "https://www.passeidireto.com/",
            state,
            "Salvador",
            "UFBA",
            "Direito",
        )
        for sid, state in EVENTS
    ]
    write_csv(lake, "full.csv", FULL_HEADER, events)


def ranked(totals: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(totals.items(), key=lambda item: (-item[1], item[0]))


def rows(frame: pd.DataFrame) -> list[tuple[str, int]]:
    return [(key, int(value)) for key, value in frame.itertuples(index=False)]


def expected_students_per_state() -> list[tuple[str, int]]:
    students: dict[str, set[str]] = defaultdict(set)
    for student, state in EVENTS:
        students[state or MISSING_LABEL].add(student)
    return ranked({state: len(ids) for state, ids in students.items()})


def test_users_per_state_counts_each_student_once_largest_first(lake: Lake) -> None:
    write_all(lake)

    frame = AnalyticsStore().users_per_state()

    assert list(frame.columns) == ["state", "students"]
    assert rows(frame) == expected_students_per_state()


@pytest.mark.parametrize("chunk_rows", [1, 2, 3])
def test_full_csv_read_in_chunks_still_counts_distinct_students(
    lake: Lake, monkeypatch: pytest.MonkeyPatch, chunk_rows: int
) -> None:
    """s1's two events land in one chunk or in two; either way s1 counts once."""
    write_all(lake)
    monkeypatch.setattr(store_module, "_CHUNK_ROWS", chunk_rows)

    assert rows(AnalyticsStore().users_per_state()) == expected_students_per_state()


def test_foreign_countries_keeps_only_more_than_the_threshold(lake: Lake) -> None:
    write_all(lake)
    store = AnalyticsStore()
    assert store.threshold == 100

    assert rows(store.foreign_countries()) == ranked({c: n for c, n in COUNTRIES if n > 100})


def test_lowering_the_threshold_adds_countries(lake: Lake) -> None:
    write_all(lake)
    store = AnalyticsStore()
    before = {country for country, _ in rows(store.foreign_countries())}

    store.threshold = 50

    after = {country for country, _ in rows(store.foreign_countries())}
    assert after == {c for c, n in COUNTRIES if n > 50}
    assert after - before == {"de", "fr", "na"}


def test_users_per_profile_sums_repeats_and_keeps_values_as_exported(lake: Lake) -> None:
    write_all(lake)
    totals: dict[str, int] = defaultdict(int)
    for profile, count in PROFILES:
        totals[profile or MISSING_LABEL] += count

    frame = AnalyticsStore().users_per_profile()

    assert list(frame.columns) == ["custom_4", "count"]
    assert rows(frame) == ranked(totals)


def test_empty_lake_has_no_outputs_and_empty_frames(lake: Lake) -> None:
    store = AnalyticsStore()

    assert store.missing() == list(OUTPUTS)
    assert not store.has_outputs()
    assert store.users_per_state().empty
    assert store.foreign_countries().empty
    assert store.users_per_profile().empty


def test_empty_lake_page_shows_the_run_hint_instead_of_charts(lake: Lake) -> None:
    layout = OverviewPage(store=AnalyticsStore()).__panel__()

    alerts = [alert for alert in layout.select(pn.pane.Alert) if alert.visible]
    assert [alert.object for alert in alerts] == [EMPTY_MESSAGE]


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


def test_an_output_without_its_columns_is_a_data_error(lake: Lake) -> None:
    write_csv(lake, "country.csv", ["pais", "total"], [("us", 1)])

    with pytest.raises(DataError, match="country.csv"):
        AnalyticsStore().foreign_countries()


def test_create_app_builds_a_fresh_page_per_call(lake: Lake) -> None:
    from panel_app.app import TITLE, create_app

    first, second = create_app(), create_app()

    assert first.title == TITLE
    assert first is not second
    (first_input,) = first.main[0].select(pn.widgets.IntInput)
    (second_input,) = second.main[0].select(pn.widgets.IntInput)
    first_input.value = 50
    assert second_input.value == 100  # each session its own threshold
