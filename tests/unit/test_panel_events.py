"""The Students page's EventsStore (DuckDB) over a tiny day: filters, option counts, the CSV,
paging, and the Parquet parts of a day's partition preferred to its full.csv."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from panel_app.events import ALL, COLUMNS, EventsStore, count_rows, value_rows
from panel_app.store import MANIFEST, AnalyticsStore, load_manifest, load_output, partition
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
    for loader in (count_rows, value_rows, load_output, load_manifest):
        loader.clear()
    lake = get_lake()
    lake.ensure_zones()
    write_full(lake, ROWS)
    yield lake


def write_full(lake: Lake, rows: list[dict], folder: str = "") -> None:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    with lake.write_atomic("analytics", folder + "full.csv") as out:
        out.write(text.getvalue().encode("utf-8"))


def write_parts(lake: Lake, folder: str, parts: list[list[dict]]) -> None:
    """Parquet part files as Spark writes them: string columns, an empty field as null."""
    schema = pa.schema([(c, pa.string()) for c in COLUMNS])
    for i, rows in enumerate(parts):
        table = pa.table({c: [r[c] or None for r in rows] for c in COLUMNS}, schema=schema)
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        with lake.write_atomic("analytics", f"{folder}full/part-{i:05d}-x.snappy.parquet") as out:
            out.write(buffer.getvalue())


def write_partition(lake: Lake, day: str, parts: list[list[dict]] | None, csv_rows=None) -> None:
    folder = partition(day)
    if parts is not None:
        write_parts(lake, folder, parts)
    if csv_rows is not None:
        write_full(lake, csv_rows, folder)
    with lake.write_atomic("analytics", folder + MANIFEST) as out:
        out.write(json.dumps({"run_date": day, "events": {}, "outputs": {}}).encode())


def store(lake: Lake, max_rows: int = 100) -> EventsStore:
    return EventsStore(AnalyticsStore(lake=lake), max_download_rows=max_rows)


def as_rows(frame) -> list[dict]:
    return [{c: str(row[c]) for c in COLUMNS} for _, row in frame.iterrows()]


def test_every_row_read_as_text_with_empty_fields_kept(lake: Lake) -> None:
    assert as_rows(store(lake).filtered()) == ROWS
    assert store(lake).total() == len(ROWS)


def test_pages_are_slices_in_the_files_order(lake: Lake) -> None:
    events = store(lake)
    assert as_rows(events.page(0, 4)) == ROWS[:4]
    assert as_rows(events.page(4, 4)) == ROWS[4:]
    events.state = "Bahia"
    bahia = [r for r in ROWS if r["state"] == "Bahia"]
    assert as_rows(events.page(1, 2)) == bahia[1:3]
    assert events.count() == len(bahia)


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
    assert events.filtered().empty and list(events.filtered().columns) == list(COLUMNS)
    assert events.count() == 0 and events.source() is None
    assert events.options("state") == {"All (0)": ALL}


def test_a_broken_file_is_a_data_error(lake: Lake) -> None:
    with lake.write_atomic("analytics", "full.csv") as out:
        out.write(b"student_id,client\ns1\n")
    with pytest.raises(DataError, match="full.csv"):
        store(lake).count()


LATER = [event("s9", "iOS", "Acre", "UFAC", "Direito"), *ROWS[:2]]


def test_a_days_parquet_parts_are_read_in_order_and_preferred(lake: Lake) -> None:
    """Day partitions: the parts in order, not the root's full.csv nor the partition's."""
    write_partition(lake, "2017-11-17", [LATER[:1], LATER[1:]], csv_rows=ROWS)
    write_partition(lake, "2017-11-15", [ROWS[3:], ROWS[:3]])  # parts are what they say
    events = store(lake)

    assert events.analytics.shown_day() == "2017-11-17"
    assert as_rows(events.filtered()) == LATER
    assert "day=2017-11-17/full/" in events.label()
    events.analytics.day = "2017-11-15"
    assert as_rows(events.filtered()) == ROWS[3:] + ROWS[:3]
    events.state = ""  # nulls of Parquet are empty fields, as in the CSV
    assert as_rows(events.filtered()) == [r for r in ROWS[3:] + ROWS[:3] if r["state"] == ""]
    assert events.options("client") == {"All (1)": ALL, "Webapp (1)": "Webapp"}


def test_a_partition_with_only_full_csv_is_read_as_csv(lake: Lake) -> None:
    write_partition(lake, "2017-11-17", None, csv_rows=LATER)
    assert as_rows(store(lake).filtered()) == LATER


def test_a_new_version_of_a_day_is_counted_again(lake: Lake) -> None:
    write_partition(lake, "2017-11-17", [LATER])
    events = store(lake)
    assert events.count() == len(LATER)
    write_partition(lake, "2017-11-17", [ROWS])  # reprocessed: new parts, a new manifest
    assert events.count() == len(ROWS)


@pytest.mark.parametrize("parquet", [True, False])
def test_a_memory_lake_is_read_through_fsspec(parquet: bool) -> None:
    """DuckDB reads a lake that is not a folder through its registered fsspec filesystem."""
    lake = Lake(f"memory://pdbi-unit-events-{int(parquet)}")
    lake.ensure_zones()
    try:
        if parquet:
            write_partition(lake, "2017-11-17", [LATER[:2], LATER[2:]])
        else:
            write_full(lake, LATER)
        events = EventsStore(AnalyticsStore(lake=lake), max_download_rows=10)
        assert as_rows(events.filtered()) == LATER
        events.client = "iOS"
        assert events.count() == sum(r["client"] == "iOS" for r in LATER)
    finally:
        lake.fs.rm(lake.root, recursive=True)
