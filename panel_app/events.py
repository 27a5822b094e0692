"""The joined events of a day (`full.csv`, a million rows) behind the Students page, in DuckDB.

Nothing here holds the day's rows in the server process: each question is one SQL query over
the files where they lie. A day's partition holds the rows as Parquet (`full/part-*.parquet`,
the part files in order), read with `read_parquet`; a day published before that (only
`full.csv`, at the root or in its partition) is read with `read_csv`. The table shows one page
at a time (`LIMIT`/`OFFSET`, in the files' order), the filters are `WHERE` clauses, the count
and each filter's values with their rows are aggregates (cached per file version, shared by the
sessions), and the download is the filtered rows when they are few enough. A lake that is not a
local folder is read through its fsspec filesystem, registered with DuckDB. Queries are built
with DuckDB's relational API: file names and filter values never enter SQL text.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import pandas as pd
import panel as pn
import param
from duckdb import ColumnExpression, ConstantExpression

from panel_app.store import MANIFEST, MISSING_LABEL, ZONE, AnalyticsStore, file_stamp
from tasks.errors import DataError
from tasks.resources.lake import Lake

FULL = "full.csv"
PARQUET = "full/part-*.parquet"
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
MEMORY_LIMIT = "1GB"  # DuckDB spills beyond it; a page or a count never comes near
Filters = tuple[tuple[str, str], ...]  # (column, value) pairs, sorted


@dataclass(frozen=True)
class Source:
    """A day's events as DuckDB reads them: the files and the key of their versions."""

    kind: str  # "parquet" (the part files, in order) or "csv" (one full.csv)
    files: tuple[str, ...]  # what DuckDB opens: paths, or protocol://paths through fsspec
    key: tuple  # (lake url, files and their stamps): a new version misses every cache
    label: str  # what the page names: full.csv, day=<day>/full.csv, day=<day>/full/*.parquet

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Source) and other.key == self.key


class _Engine:
    """One in-memory DuckDB database for the process. Queries are built with DuckDB's relational
    API (files, filter values and limits travel as values, never as SQL text) and run one at a
    time (a page is a few milliseconds); each lake's fsspec filesystem is registered once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._registered: set[str] = set()

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self._con = duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "threads": 2})
        return self._con

    def register(self, lake: Lake) -> None:
        with self._lock:
            con = self._connection()
            protocol = _protocol(lake)
            if protocol not in self._registered:
                con.register_filesystem(lake.fs)
                self._registered.add(protocol)

    def run(self, source: Source, query: Callable[[duckdb.DuckDBPyRelation], object]):
        """query(the day's rows, every column text and an empty field "" (never NULL)), with
        any DuckDB error (an unreadable file) as a DataError naming the file."""
        with self._lock:
            try:
                con = self._connection()
                if source.kind == "parquet":
                    rows = con.read_parquet(list(source.files))
                else:
                    rows = con.read_csv(
                        source.files[0], header=True, sep=",", quotechar='"', escapechar='"',
                        columns=dict.fromkeys(COLUMNS, "VARCHAR"), auto_detect=False,
                        strict_mode=True,
                    )  # fmt: skip
                text = [
                    duckdb.CoalesceOperator(ColumnExpression(c), ConstantExpression("")).alias(c)
                    for c in COLUMNS
                ]
                return query(rows.project(*text))
            except duckdb.Error as exc:
                lines = [line for line in str(exc).splitlines() if line.strip()]
                first = lines[0] if lines else type(exc).__name__
                raise DataError(
                    f"{source.label} in the {ZONE} zone could not be read: {first}"
                ) from None


ENGINE = _Engine()
_SOURCE_KEY = {Source: lambda source: repr(source.key).encode()}  # pn.cache hashes by value


def _protocol(lake: Lake) -> str:
    protocol = lake.fs.protocol
    return protocol if isinstance(protocol, str) else protocol[0]


def _url(lake: Lake, name: str) -> str:
    """What DuckDB opens for a lake file: the path of a local lake, else protocol://path
    through the registered fsspec filesystem."""
    path = lake.path(ZONE, name)
    return path if lake.is_local else f"{_protocol(lake)}://{path}"


def find_source(lake: Lake, folder: str) -> Source | None:
    """The day's Parquet parts when its partition has them, else its full.csv; None when
    neither exists."""
    parts = lake.sizes(ZONE, folder + PARQUET)
    if parts:
        if not lake.is_local:
            ENGINE.register(lake)
        manifest = file_stamp(lake, folder + MANIFEST)  # published last: a new run moves it
        key = (lake.url, tuple(sorted(parts.items())), manifest)
        files = tuple(_url(lake, name) for name in sorted(parts))
        return Source("parquet", files, key, f"{folder}{PARQUET}")
    stamp = file_stamp(lake, folder + FULL)
    if stamp is None:
        return None
    if not lake.is_local:
        ENGINE.register(lake)
    key = (lake.url, folder + FULL, stamp)
    return Source("csv", (_url(lake, folder + FULL),), key, folder + FULL)


def _filtered(rows: duckdb.DuckDBPyRelation, filters: Filters) -> duckdb.DuckDBPyRelation:
    for name, value in filters:
        rows = rows.filter(ColumnExpression(name) == ConstantExpression(value))
    return rows


@pn.cache(max_items=512, hash_funcs=_SOURCE_KEY)
def count_rows(source: Source, filters: Filters) -> int:
    """Rows `filters` keep (shared by the sessions, per file version)."""
    found = ENGINE.run(
        source, lambda rows: _filtered(rows, filters).aggregate("count(*)").fetchall()
    )
    return int(found[0][0])


@pn.cache(max_items=512, hash_funcs=_SOURCE_KEY)
def value_rows(source: Source, column: str, filters: Filters) -> tuple[tuple[str, int], ...]:
    """(value, rows) of one column among the rows `filters` keep, values with rows only."""
    if column not in COLUMNS:
        raise ValueError(f"no column {column!r} in the events")
    quoted = f'"{column}"'  # one of COLUMNS, a constant

    def count(rows: duckdb.DuckDBPyRelation) -> list[tuple]:
        return _filtered(rows, filters).aggregate(f"{quoted}, count(*)", quoted).fetchall()

    return tuple((str(value), int(n)) for value, n in ENGINE.run(source, count) if n)


def page_rows(source: Source, filters: Filters, start: int, size: int) -> pd.DataFrame:
    """Rows start .. start + size of those `filters` keep, in the files' order."""
    return ENGINE.run(source, lambda rows: _filtered(rows, filters).limit(size, start).df())


def option_label(value: str, rows: int) -> str:
    return f"{value or MISSING_LABEL} ({rows:,})"


def empty_frame() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in COLUMNS})


class EventsStore(param.Parameterized):
    """One per Students page: the four filters, and the rows they keep (as SQL)."""

    state = param.String(default=ALL, allow_None=True, doc="Keep the events of this state.")
    course = param.String(default=ALL, allow_None=True)
    university = param.String(default=ALL, allow_None=True)
    client = param.String(default=ALL, allow_None=True, doc="Website, Webapp, Android, iOS.")

    def __init__(self, analytics: AnalyticsStore, max_download_rows: int, **params: object):
        super().__init__(**params)
        self.analytics = analytics
        self.max_download_rows = max_download_rows

    def source(self) -> Source | None:
        """The day shown's events; None before any run."""
        return find_source(self.analytics.lake, self.analytics.folder())

    def label(self) -> str:
        source = self.source()
        return FULL if source is None else source.label

    def active_filters(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in FILTERS if getattr(self, name) is not ALL}

    def _filters(self) -> Filters:
        return tuple(sorted(self.active_filters().items()))

    def clear_filters(self) -> None:
        self.param.update({name: ALL for name in FILTERS})

    def total(self) -> int:
        """Every event of the day."""
        source = self.source()
        return 0 if source is None else count_rows(source, ())

    def count(self) -> int:
        """The events every active filter keeps."""
        source = self.source()
        return 0 if source is None else count_rows(source, self._filters())

    def page(self, start: int, size: int) -> pd.DataFrame:
        """One page of the filtered events, in the files' order."""
        source = self.source()
        if source is None:
            return empty_frame()
        return page_rows(source, self._filters(), start, size)

    def filtered(self, limit: int | None = None) -> pd.DataFrame:
        """The filtered events (at most `limit`), in the files' order: the download's rows."""
        source = self.source()
        if source is None:
            return empty_frame()
        limit = self.count() if limit is None else limit
        return page_rows(source, self._filters(), 0, limit)

    def warm(self) -> None:
        """Count the day and list each filter's values once, into the shared caches."""
        for name in FILTERS:
            self.options(name)

    def options(self, name: str) -> dict[str, str | None]:
        """label -> value for one filter: "All", then each value the other filters leave,
        alphabetically, labelled with its rows; the chosen value stays listed."""
        others = tuple(sorted((k, v) for k, v in self.active_filters().items() if k != name))
        source = self.source()
        counts = {} if source is None else dict(value_rows(source, name, others))
        total = sum(counts.values())
        chosen = getattr(self, name)
        if chosen is not ALL:
            counts.setdefault(chosen, 0)
        options: dict[str, str | None] = {f"All ({total:,})": ALL}
        for value in sorted(counts, key=lambda v: (v == "", v.casefold())):
            options[option_label(value, counts[value])] = value
        return options

    def can_download(self) -> bool:
        return 0 < self.count() <= self.max_download_rows

    def to_csv(self) -> io.BytesIO:
        """The filtered rows as UTF-8 CSV, the columns and header of full.csv."""
        rows = self.count()
        if rows > self.max_download_rows:
            raise DataError(
                f"{rows:,} rows are more than the {self.max_download_rows:,} a download "
                "may hold; narrow the filters (PDBI_DASHBOARD_DOWNLOAD_ROWS raises the limit)."
            )
        buffer = io.BytesIO()
        self.filtered(rows).to_csv(buffer, index=False, encoding="utf-8", lineterminator="\n")
        buffer.seek(0)
        return buffer

    def download_name(self) -> str:
        """events.csv, or events-<filter values>.csv, safe as a file name."""
        values = [v or "missing" for v in self.active_filters().values()]
        parts = [re.sub(r"[^\w-]+", "-", v).strip("-") for v in values]
        return "-".join(["events", *(p for p in parts if p)]) + ".csv"
