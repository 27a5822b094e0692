"""Users: who the students are and how they use the platform.

The original chart of page views per user profile (custom_4, values as exported), then page
views per client and per hour of the day, and the courses and universities most viewed.
"""

from __future__ import annotations

import pandas as pd
import panel as pn

from panel_app.charts import bar_chart, column_chart, percent, thousands
from panel_app.pages.common import PageView, caption, heading, table

TOP = 15  # courses and universities shown


class UsersPage(PageView):
    title = "Users"
    intro = "Profiles, clients and hours of the day of identified students' page views."
    needs = ("users.csv", "clients.csv", "hours.csv", "courses.csv", "universities.csv")

    def draw(self) -> pn.viewable.Viewable:
        sections = [
            self.guarded(self._profiles, "users.csv"),
            self.guarded(self._clients, "clients.csv"),
            self.guarded(self._hours, "hours.csv"),
            pn.Row(
                self.guarded(
                    lambda: self._top("courses.csv", "course", "Course", "Top courses"),
                    "courses.csv",
                ),
                self.guarded(
                    lambda: self._top(
                        "universities.csv", "university", "University", "Top universities"
                    ),
                    "universities.csv",
                ),
                sizing_mode="stretch_width",
            ),
        ]
        return pn.Column(*sections, sizing_mode="stretch_width")

    def _profiles(self) -> pn.viewable.Viewable:
        frame = self.store.users_per_profile()
        if frame.empty:
            return caption("*No rows in users.csv.*")
        text = (
            f"{thousands(frame['count'].sum())} page views across {len(frame)} profiles "
            "(the custom_4 field of each event)."
        )
        chart = bar_chart(frame, "custom_4", "count", "Page views", "User profile")
        return _section("Users per profile", text, chart)

    def _clients(self) -> pn.viewable.Viewable:
        frame = self.store.views_per("clients.csv")
        if frame.empty:
            return caption("*No rows in clients.csv.*")
        total = int(frame["page_views"].sum())
        top = frame.iloc[0]
        text = (
            f"{thousands(total)} page views from {len(frame)} clients; "
            f"{top['client']} leads with {percent(top['page_views'] / total)}."
        )
        chart = bar_chart(frame, "client", "page_views", "Page views", "Client")
        listing = pd.DataFrame(
            {"Client": frame["client"], "Page views": frame["page_views"].map(thousands)}
        )
        if "students" in frame:  # runs before the keyed outputs wrote students per client
            listing["Students"] = frame["students"].map(thousands)
        listing["Share"] = (frame["page_views"] / total).map(percent)
        side = pn.Column(table(listing), width=380)
        return _section("Page views per client", text, chart, side)

    def _hours(self) -> pn.viewable.Viewable:
        frame = self.store.views_per_hour()
        chart = column_chart(
            frame.assign(hour=frame["hour"].map("{:02d}h".format)),
            "hour",
            "page_views",
            "Hour of the day",
            "Page views",
        )
        quiet = frame.loc[frame["page_views"].idxmin()]
        busy = frame.loc[frame["page_views"].idxmax()]
        text = (
            f"Busiest at {int(busy['hour']):02d}h ({thousands(busy['page_views'])} page views), "
            f"quietest at {int(quiet['hour']):02d}h ({thousands(quiet['page_views'])})."
        )
        return _section("Page views per hour of the day", text, chart)

    def _top(self, name: str, key: str, label: str, title: str) -> pn.viewable.Viewable:
        frame = self.store.views_per(name, limit=TOP)
        if frame.empty:
            return caption(f"*No rows in {name}.*")
        chart = bar_chart(frame, key, "page_views", "Page views", label)
        text = f"The {len(frame)} most viewed, by identified page views."
        return _section(title, text, chart)


def _section(title: str, text: str, chart, side: pn.viewable.Viewable | None = None):
    plot = pn.pane.Bokeh(chart, sizing_mode="stretch_width")
    body = pn.Row(plot, side, sizing_mode="stretch_width") if side is not None else plot
    return pn.Column(heading(title, below=text), body, sizing_mode="stretch_width")
