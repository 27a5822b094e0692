"""Trends: the daily series across every published day.

One small line chart per numeric column of `analytics/series/daily.csv` (the pipeline adds a row
per day as it publishes; a column it adds later is plotted under its own name), then the same
numbers as a table, the newest day first.
"""

from __future__ import annotations

import pandas as pd
import panel as pn

from panel_app.charts import percent, series_grid, thousands
from panel_app.pages.common import PageView, caption, empty_state, heading, table
from panel_app.store import RUN_COMMAND, SERIES, SERIES_LABELS, SHARES, ZONE

NO_SERIES = (
    f"No daily series yet: each run of `{RUN_COMMAND}` adds its day to `{ZONE}/{SERIES}`, "
    "and this page draws them once there is one."
)


def label(column: str) -> str:
    return SERIES_LABELS.get(column, column)


def formatted(column: str, value: float) -> str:
    if pd.isna(value):
        return "—"
    if column in SHARES:
        return percent(value)
    return thousands(value) if float(value).is_integer() else f"{value:,.2f}"


def series_table(series: pd.DataFrame) -> pd.DataFrame:
    """The series in words, newest day first."""
    newest = series.iloc[::-1]
    listing = pd.DataFrame({"Day": newest["day"]})
    for column in series.columns[1:]:
        listing[label(column)] = newest[column].map(lambda v, c=column: formatted(c, v))
    return listing.reset_index(drop=True)


class TrendsPage(PageView):
    title = "Trends"
    intro = "The daily series across every published day: one chart per measure, then the numbers."

    def draw(self) -> pn.viewable.Viewable:
        series = self.store.series()
        if series is None or series.empty:
            return empty_state(NO_SERIES)
        columns = list(series.columns[1:])
        first, last = series["day"].iloc[0], series["day"].iloc[-1]
        days = len(series)
        text = (
            f"{days} day{'s' if days != 1 else ''}, from {first} to {last}; "
            f"{len(columns)} measures."
        )
        labels = {column: label(column) for column in columns}
        grid = pn.pane.Bokeh(
            series_grid(series, "day", columns, labels, SHARES), sizing_mode="stretch_width"
        )
        return pn.Column(
            caption(text),
            grid,
            heading("Every day"),
            table(series_table(series)),
            sizing_mode="stretch_width",
        )
