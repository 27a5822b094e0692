"""The overview page: the original case study's three charts over the analytics outputs.

Each chart is a small view over the shared store; it redraws when the store's `version` moves
(refresh) and, for foreign countries, when the threshold changes. A missing or unreadable file
turns into a sentence in the chart's place, never a stack trace.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pandas as pd
import panel as pn
import param

from panel_app.charts import bar_chart, pie_chart, thousands
from panel_app.store import COUNTRY, EMPTY_MESSAGE, FULL, USERS, ZONE, AnalyticsStore
from tasks.errors import DataError

Draw = Callable[[], pn.viewable.Viewable]


class ChartView(pn.viewable.Viewer):
    """A heading, then either the chart or a sentence saying why there is none."""

    store = param.ClassSelector(class_=AnalyticsStore)
    output = ""  # the analytics file the chart is drawn from

    def _guarded(self, draw: Draw) -> pn.viewable.Viewable:
        if not self.store.lake.exists(ZONE, self.output):
            return pn.pane.Markdown(f"`{self.output}` is not in the {ZONE} zone yet.")
        try:
            return draw()
        except DataError as exc:
            return pn.pane.Alert(str(exc), alert_type="danger")

    @staticmethod
    def _no_rows(text: str) -> pn.viewable.Viewable:
        return pn.pane.Markdown(f"*{text}*")


class StatesView(ChartView):
    """Distinct students per state; a bar by default, the original pie on request."""

    output = FULL

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        self._kind = pn.widgets.RadioButtonGroup(
            label="Chart type", options=["Bar", "Pie"], value="Bar", color="light"
        )

    def __panel__(self) -> pn.viewable.Viewable:
        body = pn.bind(self._body, self.store.param.version, self._kind)
        return pn.Column("## Users per state", self._kind, body, sizing_mode="stretch_width")

    def _body(self, _version: int, kind: str) -> pn.viewable.Viewable:
        return self._guarded(lambda: self._draw(kind))

    def _draw(self, kind: str) -> pn.viewable.Viewable:
        frame = self.store.users_per_state()
        if frame.empty:
            return self._no_rows(f"No identified students in {FULL}.")
        top = frame.iloc[0]
        caption = (
            f"{thousands(frame['students'].sum())} distinct students in {len(frame)} states; "
            f"most in {top['state']} ({thousands(top['students'])})."
        )
        if kind == "Pie":
            chart = pie_chart(frame, "state", "students", "Students")
        else:
            chart = bar_chart(frame, "state", "students", "Distinct students", "State")
        return pn.Column(
            caption, pn.pane.Bokeh(chart, sizing_mode="stretch_width"), sizing_mode="stretch_width"
        )


class CountriesView(ChartView):
    """Foreign countries above a chosen number of page views, with a table of those shown."""

    output = COUNTRY

    def __panel__(self) -> pn.viewable.Viewable:
        threshold = self.store.param.threshold
        heading = pn.bind(
            lambda n: f"## Foreign countries with more than {thousands(n)} accesses", threshold
        )
        widget = pn.widgets.IntInput.from_param(
            threshold, label="Minimum accesses", start=0, step=10, width=180
        )
        body = pn.bind(self._body, self.store.param.version, threshold)
        return pn.Column(pn.pane.Markdown(heading), widget, body, sizing_mode="stretch_width")

    def _body(self, _version: int, _threshold: int) -> pn.viewable.Viewable:
        return self._guarded(self._draw)

    def _draw(self) -> pn.viewable.Viewable:
        frame = self.store.foreign_countries()
        limit = thousands(self.store.threshold)
        if frame.empty:
            return self._no_rows(f"No foreign country has more than {limit} page views.")
        caption = (
            f"{len(frame)} countries with more than {limit} page views; "
            f"{thousands(frame['count'].sum())} page views between them."
        )
        chart = bar_chart(frame, "country", "count", "Page views", "Country")
        table = pd.DataFrame(
            {"Country": frame["country"], "Page views": frame["count"].map(thousands)}
        )
        listing = pn.Column(
            pn.pane.DataFrame(table, index=False, sizing_mode="stretch_width"),
            max_height=max(chart.height, 200),
            scroll=True,
            width=220,
        )
        row = pn.Row(
            pn.pane.Bokeh(chart, sizing_mode="stretch_width"), listing, sizing_mode="stretch_width"
        )
        return pn.Column(caption, row, sizing_mode="stretch_width")


class ProfilesView(ChartView):
    """Events per user profile (custom_4), with the profile names exactly as exported."""

    output = USERS

    def __panel__(self) -> pn.viewable.Viewable:
        body = pn.bind(self._body, self.store.param.version)
        return pn.Column("## Users per profile", body, sizing_mode="stretch_width")

    def _body(self, _version: int) -> pn.viewable.Viewable:
        return self._guarded(self._draw)

    def _draw(self) -> pn.viewable.Viewable:
        frame = self.store.users_per_profile()
        if frame.empty:
            return self._no_rows(f"No rows in {USERS}.")
        caption = (
            f"{thousands(frame['count'].sum())} page views across {len(frame)} profiles "
            "(the custom_4 field of each event)."
        )
        chart = bar_chart(frame, "custom_4", "count", "Page views", "User profile")
        return pn.Column(
            caption, pn.pane.Bokeh(chart, sizing_mode="stretch_width"), sizing_mode="stretch_width"
        )


class OverviewPage(pn.viewable.Viewer):
    """Refresh button, the empty-lake message, and the three charts."""

    store = param.ClassSelector(class_=AnalyticsStore)

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        self._empty = pn.pane.Alert(EMPTY_MESSAGE, alert_type="info")
        self._charts = pn.Column(
            StatesView(store=self.store),
            pn.layout.Divider(),
            CountriesView(store=self.store),
            pn.layout.Divider(),
            ProfilesView(store=self.store),
            sizing_mode="stretch_width",
        )
        self._status = pn.pane.Markdown(align="center")
        self._refresh = pn.widgets.Button(label="Refresh data", color="primary", width=140)
        self._refresh.on_click(lambda _event: self.store.refresh())
        self.store.param.watch(self._show_state, "version")
        self._show_state()

    def __panel__(self) -> pn.viewable.Viewable:
        toolbar = pn.Row(self._refresh, self._status)
        return pn.Column(toolbar, self._empty, self._charts, sizing_mode="stretch_width")

    def _show_state(self, *_events: param.parameterized.Event) -> None:
        """Only one of the empty message and the charts is visible, decided at each refresh."""
        has_outputs = self.store.has_outputs()
        self._empty.visible = not has_outputs
        self._charts.visible = has_outputs
        self._status.object = f"Analytics zone checked at {datetime.now():%Y-%m-%d %H:%M:%S}."
