"""The joined events table (`full.csv`) behind the Students page.

The file can hold a million rows: it is read once per file version (shared by all sessions,
`pn.cache`), every column as a pandas category so it takes tens of megabytes, and filtered in
memory. The browser only ever receives one page of the table at a time (the Tabulator's remote
pagination) and, on request, a CSV of the filtered rows when they are few enough.
"""

from __future__ import annotations

import io
import re
import threading

import pandas as pd
import panel as pn
import param
import pyarrow as pa
from pyarrow import csv as pa_csv

from panel_app.store import MISSING_LABEL, ZONE, AnalyticsStore, Stamp, file_stamp
from tasks.errors import DataError
from tasks.resources.lake import Lake

FULL = "full.csv"
# tasks/analytics/outputs.py FULL_COLUMNS, repeated here so the app does not import pyspark.
COLUMNS = (
    "student_id", "client", "at", "browser", "country", "custom_4",
    "page_name", "last_accessed_url", "state", "city", "university", "course",
)  # fmt: skip
TITLES = {
    "student_id": "Student",
    "client": "Client",
    "at": "Viewed at",
    "browser": "Browser",
    "country": "Country",
    "custom_4": "Profile",
    "page_name": "Page",
    "last_accessed_url": "Last accessed URL",
    "state": "State",
    "city": "City",
    "university": "University",
    "course": "Course",
}
FILTERS = ("state", "course", "university", "client")
ALL = None  # a filter left at None keeps every row; "" keeps the rows with an empty field
_LOAD_LOCK = threading.Lock()  # pn.cache has no per-key lock: read a million rows once


@pn.cache(max_items=2, hash_funcs={Lake: lambda lake: lake.url.encode()})
def load_events(lake: Lake, stamp: Stamp, folder: str = "") -> pd.DataFrame:
    """full.csv with every column a category; an empty field is "" (never NaN)."""
    text = pa.string()
    try:
        with lake.open(ZONE, folder + FULL) as handle:
            table = pa_csv.read_csv(
                handle,
                parse_options=pa_csv.ParseOptions(newlines_in_values=True),
                convert_options=pa_csv.ConvertOptions(
                    column_types={c: text for c in COLUMNS},
                    include_columns=list(COLUMNS),
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
    except (pa.ArrowInvalid, pa.ArrowKeyError, UnicodeDecodeError) as exc:
        raise DataError(f"{FULL} in the {ZONE} zone could not be read: {exc}") from None
    columns = {name: table.column(name).dictionary_encode() for name in COLUMNS}
    return pa.table(columns).to_pandas()


Filters = tuple[tuple[str, str], ...]  # (column, value) pairs, sorted


def _mask(frame: pd.DataFrame, filters: Filters) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for name, value in filters:
        mask &= frame[name] == value
    return mask


@pn.cache(max_items=256, hash_funcs={Lake: lambda lake: lake.url.encode()})
def value_rows(
    lake: Lake, stamp: Stamp, column: str, filters: Filters, folder: str = ""
) -> tuple[tuple[str, int], ...]:
    """(value, rows) of one column among the rows `filters` keep, values with rows only;
    shared by the sessions, so a fresh Students page does not count a million rows again."""
    with _LOAD_LOCK:
        frame = load_events(lake, stamp, folder)
    rows = frame.loc[_mask(frame, filters), column].value_counts(sort=False)
    return tuple((str(value), int(n)) for value, n in rows.items() if n)


def option_label(value: str, rows: int) -> str:
    return f"{value or MISSING_LABEL} ({rows:,})"


class EventsStore(param.Parameterized):
    """One per Students page: the four filters, and the rows they keep."""

    state = param.String(default=ALL, allow_None=True, doc="Keep the events of this state.")
    course = param.String(default=ALL, allow_None=True)
    university = param.String(default=ALL, allow_None=True)
    client = param.String(default=ALL, allow_None=True, doc="Website, Webapp, Android, iOS.")

    def __init__(self, analytics: AnalyticsStore, max_download_rows: int, **params: object):
        super().__init__(**params)
        self.analytics = analytics
        self.max_download_rows = max_download_rows
        self._memo: tuple[tuple, pd.DataFrame] | None = None

    def stamp(self) -> Stamp | None:
        return file_stamp(self.analytics.lake, self.analytics.path_of(FULL))

    def frame(self) -> pd.DataFrame:
        """Every event; an empty frame before the first run."""
        stamp = self.stamp()
        if stamp is None:
            return pd.DataFrame({c: pd.Series(dtype="category") for c in COLUMNS})
        with _LOAD_LOCK:
            return load_events(self.analytics.lake, stamp, self.analytics.folder())

    def active_filters(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in FILTERS if getattr(self, name) is not ALL}

    def clear_filters(self) -> None:
        self.param.update({name: ALL for name in FILTERS})

    def filtered(self) -> pd.DataFrame:
        """The rows every active filter keeps, in the file's order; memoised per filter set."""
        frame = self.frame()
        filters = tuple(sorted(self.active_filters().items()))
        key = (self.analytics.path_of(FULL), self.stamp(), self.analytics.version, filters)
        if self._memo is None or self._memo[0] != key:
            rows = frame[_mask(frame, filters)] if filters else frame
            self._memo = (key, rows)
        return self._memo[1]

    def options(self, name: str) -> dict[str, str | None]:
        """label -> value for one filter: "All", then each value the other filters leave,
        alphabetically, labelled with its rows; the chosen value stays listed."""
        others = tuple(sorted((k, v) for k, v in self.active_filters().items() if k != name))
        stamp = self.stamp()
        folder = self.analytics.folder()
        counts = (
            {}
            if stamp is None
            else dict(value_rows(self.analytics.lake, stamp, name, others, folder))
        )
        total = sum(counts.values())
        chosen = getattr(self, name)
        if chosen is not ALL:
            counts.setdefault(chosen, 0)
        options: dict[str, str | None] = {f"All ({total:,})": ALL}
        for value in sorted(counts, key=lambda v: (v == "", v.casefold())):
            options[option_label(value, counts[value])] = value
        return options

    def can_download(self) -> bool:
        return 0 < len(self.filtered()) <= self.max_download_rows

    def to_csv(self) -> io.BytesIO:
        """The filtered rows as UTF-8 CSV, the columns and header of full.csv."""
        rows = self.filtered()
        if len(rows) > self.max_download_rows:
            raise DataError(
                f"{len(rows):,} rows are more than the {self.max_download_rows:,} a download "
                "may hold; narrow the filters (PDBI_DASHBOARD_DOWNLOAD_ROWS raises the limit)."
            )
        buffer = io.BytesIO()
        rows.to_csv(buffer, index=False, encoding="utf-8", lineterminator="\n")
        buffer.seek(0)
        return buffer

    def download_name(self) -> str:
        """events.csv, or events-<filter values>.csv, safe as a file name."""
        values = [v or "missing" for v in self.active_filters().values()]
        parts = [re.sub(r"[^\w-]+", "-", v).strip("-") for v in values]
        return "-".join(["events", *(p for p in parts if p)]) + ".csv"
