"""Students: the joined events of the day shown, filtered, paged by the server, downloadable.

The table is a Tabulator with remote pagination whose pages are SQL queries (panel_app/events.py,
DuckDB over the day's Parquet parts or full.csv): the server holds one page, never the day, and
sends the browser that page. Each filter lists the values the other filters leave, with
their rows, so an analyst never picks an empty combination. The download is the filtered rows
as CSV, offered while they are few enough (PDBI_DASHBOARD_DOWNLOAD_ROWS).
"""

from __future__ import annotations

import io
from collections.abc import Callable

import pandas as pd
import panel as pn
import param

from panel_app.charts import thousands
from panel_app.events import ALL, COLUMNS, FILTERS, FULL, TITLES, EventsStore
from panel_app.pages.common import PageView, empty_state, missing_file

PAGE_SIZE = 25


class PagedTable(pn.widgets.Tabulator):
    """Panel's Tabulator with remote pagination over rows it never holds: `show(rows, fetch)`
    gives the number of rows and a function returning rows start .. start + size; each page
    turn asks it for the one page shown. `value` stays an empty frame of the columns. Checked
    by the browser tests' paging."""

    def __init__(self, **params: object) -> None:
        self._rows = 0
        self._fetch: Callable[[int, int], pd.DataFrame] | None = None
        super().__init__(**params)

    def show(self, rows: int, fetch: Callable[[int, int], pd.DataFrame], columns) -> None:
        """New rows (the filters changed): back on the first page, which is fetched."""
        self._rows, self._fetch = rows, fetch
        with param.parameterized.discard_events(self):
            self.page = 1
        self.value = pd.DataFrame({c: pd.Series(dtype="object") for c in columns})

    @property
    def _length(self) -> int:
        return self._rows

    def _get_data(self):
        if self._fetch is None or self.value is None:
            return super()._get_data()
        size = self.page_size or self.initial_page_size
        start = (self.page - 1) * size
        rows = self._fetch(start, size)
        rows.index = pd.RangeIndex(start, start + len(rows))
        return self._process_df_and_convert_to_cds(rows)

    def shown(self) -> pd.DataFrame:
        """The page the browser has (for tests and the row a click names)."""
        return self._processed if isinstance(self._processed, pd.DataFrame) else self.value


WIDTHS = {"student_id": 150, "at": 170, "last_accessed_url": 240}
EVERY = "\x1fall"  # what a filter's widget holds for "All": widgets want a string, not None
BUTTON_CSS = """
.bk-btn-primary { background-color: #0072b5; border-color: #0072b5; color: white; }
.bk-btn-primary:hover { background-color: #005a8f; }
.bk-btn[disabled] { opacity: 0.5; }
"""


class StudentsPage(PageView):
    title = "Students"
    intro = (
        "Every page view of a student the warehouse knows, with the student's state, city, "
        "university and course (full.csv) of the day shown. Filter, page through and download."
    )
    needs = ()  # its own empty state: the day's Parquet parts or full.csv

    max_download_rows = param.Integer(default=100_000, bounds=(0, None))

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        self.events = EventsStore(self.store, self.max_download_rows)
        self._selects = {
            name: pn.widgets.Select(label=TITLES[name], options={"All": EVERY}, width=220)
            for name in FILTERS
        }
        for name, select in self._selects.items():
            select.param.watch(lambda event, name=name: self._choose(name, event.new), "value")
        self._clear = pn.widgets.Button(
            label="Clear filters", color="primary", variant="outline", align="end"
        )
        self._clear.on_click(lambda _event: self.events.clear_filters())
        self._count = pn.pane.Markdown(sizing_mode="stretch_width", margin=(0, 10))
        self._table = PagedTable(
            pagination="remote",
            page_size=PAGE_SIZE,
            show_index=False,
            disabled=True,  # read-only
            titles=TITLES,
            widths=WIDTHS,
            layout="fit_data_fill",  # wider than the page: it scrolls, the student stays
            frozen_columns=["student_id"],
            # the file's order; a truncated cell shows its whole value on hover
            configuration={"columnDefaults": {"headerSort": False, "tooltip": True}},
            sizing_mode="stretch_width",
        )
        self._download = pn.widgets.FileDownload(
            callback=self._csv,
            filename="events.csv",
            color="primary",
            width=260,
            stylesheets=[BUTTON_CSS],
        )
        self._download_note = pn.pane.Markdown(margin=(0, 10))
        self.events.param.watch(self._show, list(FILTERS))

    def draw(self) -> pn.viewable.Viewable:
        if self.events.source() is None:
            if self.store.has_outputs():
                return missing_file(FULL)
            return empty_state()
        self._show(options=False)
        # A filter may list two thousand universities: the page goes out without them and
        # they follow once the browser is connected, while it draws the table.
        pn.state.onload(self._show_options)
        filters = pn.Row(*self._selects.values(), self._clear, sizing_mode="stretch_width")
        download = pn.Row(self._download, self._download_note, align="start")
        return pn.Column(filters, self._count, download, self._table, sizing_mode="stretch_width")

    def _choose(self, name: str, value: str) -> None:
        setattr(self.events, name, ALL if value == EVERY else value)

    def _show(self, *_events: param.parameterized.Event, options: bool = True) -> None:
        """Put the filtered rows in the table (back on its first page) and say how many."""
        rows = self.events.count()
        total = self.events.total()
        self._table.show(rows, self.events.page, COLUMNS)
        if options:
            self._show_options()
        chosen = ", ".join(
            f"{TITLES[k].lower()} {v or '(missing)'}"
            for k, v in self.events.active_filters().items()
        )
        where = f" for {chosen}" if chosen else ""
        pages = -(-rows // PAGE_SIZE)
        paging = f"; {thousands(pages)} pages of {PAGE_SIZE}" if pages > 1 else ""
        of = f", of {thousands(total)}" if chosen else ""
        source = self.events.label()
        self._count.object = f"**{thousands(rows)} page views**{where}{of} in {source}{paging}."
        self._show_download(rows)

    def _show_options(self) -> None:
        """Each filter lists the values the others leave, with their rows."""
        for name, select in self._selects.items():
            options = self.events.options(name)
            select.options = {label: EVERY if v is ALL else v for label, v in options.items()}
            chosen = getattr(self.events, name)
            select.value = EVERY if chosen is ALL else chosen

    def _show_download(self, rows: int) -> None:
        self._download.filename = self.events.download_name()
        self._download.disabled = not self.events.can_download()
        self._download.label = f"Download {thousands(rows)} rows (CSV)"
        limit = thousands(self.max_download_rows)
        self._download_note.object = (
            ""
            if rows <= self.max_download_rows
            else f"Narrow the filters to {limit} rows or fewer to download them."
        )

    def _csv(self) -> io.BytesIO:
        return self.events.to_csv()
