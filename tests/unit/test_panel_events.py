"""The Students page's EventsStore over a tiny full.csv: filters, option counts, the CSV."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from panel_app.events import ALL, COLUMNS, EventsStore, load_events
from panel_app.store import AnalyticsStore
from tasks.errors import DataError
from tasks.resources.lake import Lake, get_lake

pytestmark = pytest.mark.unit


def event(sid, client, state, university, course, page="Home", url="https://x/"):
    return {"student_id": sid, "client": client, "at": f"2017-11-16 10:{sid[-1]}0:00.000",
            "browser": "Chrome", "country": "br", "custom_4": "Core User", "page_name": page,
            "last_accessed_url": url, "state": state, "city": "", "university": university,
            "course": course}  # fmt: skip


ROWS = [
    event("s1", "Website", "Bahia", "UFBA", "Direito"),
    event("s1", "iOS", "Bahia", "UFBA", "Direito", page='Busca "a, b"'),
    event("s2", "Android", "Bahia", "UNEB", "Pedagogia"),
    event("s3", "Website", "São Paulo", "USP", "Direito", url="https://x/?q=1,2"),
    event("s4", "Website", "São Paulo", "USP", "Medicina", page="line one\nline two"),
    event("s5", "Webapp", "", "", "Direito"),  # a student without state or university
]


@pytest.fixture
def lake(isolated_settings: Path) -> Iterator[Lake]:
    load_events.clear()
    lake = get_lake()
    lake.ensure_zones()
    write_full(lake, ROWS)
    yield lake


def write_full(lake: Lake, rows: list[dict]) -> None:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    with lake.write_atomic("analytics", "full.csv") as out:
        out.write(text.getvalue().encode("utf-8"))


def store(lake: Lake, max_rows: int = 100) -> EventsStore:
    return EventsStore(AnalyticsStore(lake=lake), max_download_rows=max_rows)


def as_rows(frame) -> list[dict]:
    return [{c: str(row[c]) for c in COLUMNS} for _, row in frame.iterrows()]


def test_every_row_read_as_text_with_empty_fields_kept(lake: Lake) -> None:
    assert as_rows(store(lake).frame()) == ROWS


@pytest.mark.parametrize(
    "filters",
    [{"state": "Bahia"}, {"course": "Direito"}, {"university": "USP"}, {"client": "Website"},
     {"state": "Bahia", "client": "Website"}, {"state": "", "course": "Direito"}],
)  # fmt: skip
def test_filters_keep_what_plain_python_keeps(lake: Lake, filters: dict[str, str]) -> None:
    events = store(lake)
    events.param.update(**filters)

    expected = [r for r in ROWS if all(r[k] == v for k, v in filters.items())]
    assert as_rows(events.filtered()) == expected


def test_a_value_not_in_the_file_keeps_nothing(lake: Lake) -> None:
    events = store(lake)
    events.state = "Acre"
    assert events.filtered().empty
    assert not events.can_download()


def test_options_list_what_the_other_filters_leave_with_their_rows(lake: Lake) -> None:
    events = store(lake)
    events.client = "Website"
    website = [r for r in ROWS if r["client"] == "Website"]

    options = events.options("state")

    counts = Counter(r["state"] for r in website)
    expected = {f"All ({len(website)})": ALL}
    for state in sorted(counts, key=lambda s: (s == "", s.casefold())):
        expected[f"{state or '(missing)'} ({counts[state]})"] = state
    assert options == expected
    # the client filter itself still offers every client
    assert set(events.options("client").values()) == {ALL, *(r["client"] for r in ROWS)}


def test_the_chosen_value_stays_listed_even_when_nothing_is_left(lake: Lake) -> None:
    events = store(lake)
    events.param.update(state="São Paulo", client="Android")  # no such event

    assert events.filtered().empty
    clients = events.options("client")  # in São Paulo: two on the Website, none on iOS
    assert clients == {"All (2)": ALL, "Android (0)": "Android", "Website (2)": "Website"}
    states = events.options("state")  # on Android: one in Bahia
    assert states == {"All (1)": ALL, "Bahia (1)": "Bahia", "São Paulo (0)": "São Paulo"}


def test_the_csv_holds_exactly_the_filtered_rows(lake: Lake) -> None:
    events = store(lake)
    events.course = "Direito"

    text = events.to_csv().getvalue().decode("utf-8")

    read = list(csv.DictReader(io.StringIO(text, newline="")))
    assert read == [r for r in ROWS if r["course"] == "Direito"]
    assert text.splitlines()[0] == ",".join(COLUMNS)


def test_no_download_above_the_limit(lake: Lake) -> None:
    events = store(lake, max_rows=3)
    assert not events.can_download()
    with pytest.raises(DataError, match="narrow the filters"):
        events.to_csv()

    events.state = "Bahia"
    assert events.can_download()
    assert len(list(csv.reader(io.StringIO(events.to_csv().getvalue().decode())))) == 4


def test_download_names_are_safe_file_names(lake: Lake) -> None:
    events = store(lake)
    assert events.download_name() == "events.csv"
    events.param.update(state="São Paulo", course="Direito/Civil ../x", client="iOS")
    assert events.download_name() == "events-São-Paulo-Direito-Civil-x-iOS.csv"
    events.param.update(course=None, client=None, state="")
    assert events.download_name() == "events-missing.csv"


def test_clear_filters(lake: Lake) -> None:
    events = store(lake)
    events.param.update(state="Bahia", client="iOS")
    events.clear_filters()
    assert events.active_filters() == {}
    assert len(events.filtered()) == len(ROWS)


def test_no_file_yet_is_an_empty_table(isolated_settings: Path) -> None:
    lake = get_lake()
    events = store(lake)
    assert events.frame().empty and list(events.frame().columns) == list(COLUMNS)
    assert events.options("state") == {"All (0)": ALL}


def test_a_broken_file_is_a_data_error(lake: Lake) -> None:
    with lake.write_atomic("analytics", "full.csv") as out:
        out.write(b"student_id,client\ns1\n")
    with pytest.raises(DataError, match="full.csv"):
        store(lake).frame()
