"""Students: the joined events table (full.csv), filtered, paged by the server, downloadable.

The table is a Tabulator with remote pagination: the server holds the filtered frame and sends
the browser one page of it at a time. Each filter lists the values the other filters leave, with
their rows, so an analyst never picks an empty combination. The download is the filtered rows
as CSV, offered while they are few enough (PDBI_DASHBOARD_DOWNLOAD_ROWS).
"""

from __future__ import annotations

import io

import pandas as pd
import panel as pn
import param

from panel_app.charts import thousands
from panel_app.events import ALL, FILTERS, FULL, TITLES, EventsStore
from panel_app.pages.common import PageView

PAGE_SIZE = 25


class _RowIndex:
    """Row number -> index label of a frame, looked up when asked."""

    def __init__(self, index: pd.Index | None) -> None:
        self._index = index

    def get(self, row: int, default: object = None) -> object:
        if self._index is None or not 0 <= row < len(self._index):
            return default
        return self._index[row]


class PagedTable(pn.widgets.Tabulator):
    """Panel's Tabulator, minus a dict of every row: on each update (a page turn too) Panel
    maps row numbers to index labels for the whole frame, half a second for a million rows,
    though only `.get` of a clicked row is ever used. Checked by the browser tests' paging."""

    def _update_index_mapping(self) -> None:
        frame = self._processed
        self._index_mapping = _RowIndex(frame.index if isinstance(frame, pd.DataFrame) else None)


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
        "university and course (full.csv). Filter, page through and download."
    )
    needs = (FULL,)

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
        rows = self.events.filtered()
        total = len(self.events.frame())
        with param.parameterized.discard_events(self._table):
            self._table.page = 1
        self._table.value = rows
        if options:
            self._show_options()
        chosen = ", ".join(
            f"{TITLES[k].lower()} {v or '(missing)'}"
            for k, v in self.events.active_filters().items()
        )
        where = f" for {chosen}" if chosen else ""
        pages = -(-len(rows) // PAGE_SIZE)
        paging = f"; {thousands(pages)} pages of {PAGE_SIZE}" if pages > 1 else ""
        of = f", of {thousands(total)}" if chosen else ""
        self._count.object = f"**{thousands(len(rows))} page views**{where}{of} in {FULL}{paging}."
        self._show_download(len(rows))

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
