"""Geography: where students come from. Two of the original case study's charts.

Users per state is a bar chart by default (27 states read better as bars) with the original pie
one click away; foreign countries are those above a number of accesses the analyst chooses,
100 by default, as in the original.
"""

from __future__ import annotations

import pandas as pd
import panel as pn

from panel_app.charts import bar_chart, pie_chart, thousands
from panel_app.pages.common import PageView, caption, heading, table
from panel_app.store import MISSING_LABEL


class GeographyPage(PageView):
    title = "Geography"
    intro = "Students per Brazilian state, and the foreign countries their page views came from."
    needs = ("states.csv", "country.csv")

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        self._kind = pn.widgets.RadioButtonGroup(
            label="Chart type", options=["Bar", "Pie"], value="Bar", color="light"
        )

    def draw(self) -> pn.viewable.Viewable:
        states = pn.Column(
            heading("Users per state"),
            self._kind,
            pn.bind(
                lambda kind: self.guarded(lambda: self._states(kind), "states.csv"),
                self._kind,
            ),
            sizing_mode="stretch_width",
        )
        countries = self._countries()
        return pn.Column(states, pn.layout.Divider(), countries, sizing_mode="stretch_width")

    def _states(self, kind: str) -> pn.viewable.Viewable:
        frame = self.store.users_per_state()
        if frame.empty:
            return caption("*No identified students in states.csv.*")
        named = frame[frame["state"] != MISSING_LABEL]
        top = (named if len(named) else frame).iloc[0]
        text = (
            f"{thousands(frame['students'].sum())} distinct students in {len(frame)} states; "
            f"most in {top['state']} ({thousands(top['students'])})."
        )
        if kind == "Pie":
            chart = pie_chart(frame, "state", "students", "Students")
        else:
            chart = bar_chart(frame, "state", "students", "Distinct students", "State")
        return pn.Column(
            caption(text),
            pn.pane.Bokeh(chart, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )

    def _countries(self) -> pn.viewable.Viewable:
        threshold = self.store.param.threshold
        title = pn.bind(
            lambda n: f"## Foreign countries with more than {thousands(n)} accesses", threshold
        )
        widget = pn.widgets.IntInput.from_param(
            threshold, label="Minimum accesses", start=0, step=10, width=180
        )
        body = pn.bind(lambda _n: self.guarded(self._countries_body, "country.csv"), threshold)
        return pn.Column(
            pn.pane.Markdown(title, sizing_mode="stretch_width"),
            widget,
            body,
            sizing_mode="stretch_width",
        )

    def _countries_body(self) -> pn.viewable.Viewable:
        frame = self.store.foreign_countries()
        limit = thousands(self.store.threshold)
        if frame.empty:
            return caption(f"*No foreign country has more than {limit} page views.*")
        text = (
            f"{len(frame)} countries with more than {limit} page views; "
            f"{thousands(frame['count'].sum())} page views between them."
        )
        chart = bar_chart(frame, "country", "count", "Page views", "Country")
        listing = pd.DataFrame(
            {"Country": frame["country"], "Page views": frame["count"].map(thousands)}
        )
        side = pn.Column(
            table(listing, sizing_mode="stretch_width"),
            max_height=max(chart.height, 200),
            scroll=True,
            width=240,
        )
        row = pn.Row(
            pn.pane.Bokeh(chart, sizing_mode="stretch_width"), side, sizing_mode="stretch_width"
        )
        return pn.Column(caption(text), row, sizing_mode="stretch_width")
