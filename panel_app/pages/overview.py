"""Overview: the day at a glance, where an analyst starts.

Page views, active students, the identified and foreign shares, the run date and how fresh the
data are, from the manifest the Spark job writes beside its outputs; then the day's page views
per hour and a line of highlights from the other outputs.
"""

from __future__ import annotations

from datetime import UTC, datetime

import panel as pn

from panel_app.charts import bar_chart, percent, thousands
from panel_app.pages.common import (
    PageView,
    caption,
    cards,
    empty_state,
    heading,
    kpi,
    missing_file,
)
from panel_app.store import MANIFEST, MISSING_LABEL, OUTPUTS, RUN_COMMAND, DaySummary


def age(published: datetime | None, now: datetime | None = None) -> str:
    """'just now', '5 min ago', '3 h ago', '2 days ago'."""
    if published is None:
        return "unknown"
    seconds = max(0, ((now or datetime.now(UTC)) - published).total_seconds())
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 2 * 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} days ago"


def summary_cards(day: DaySummary) -> pn.pane.HTML:
    """Six cards; every number comes from the manifest but the foreign page views."""
    published = day.published_at.strftime("%Y-%m-%d %H:%M UTC") if day.published_at else ""
    active = "—" if day.active_students is None else thousands(day.active_students)
    return cards(
        kpi("Page views", thousands(day.page_views), f"{thousands(day.read)} events read"),
        kpi("Active students", active, "distinct identified students"),
        kpi(
            "Identified",
            percent(day.identified_share),
            f"{thousands(day.identified)} signed-in, {thousands(day.anonymous)} anonymous",
        ),
        kpi(
            "Foreign",
            percent(day.foreign_share),
            f"{thousands(day.foreign_views)} identified page views from outside Brazil",
        ),
        kpi("Run date", day.run_date, f"{thousands(day.malformed)} malformed lines set aside"),
        kpi("Published", age(day.published_at), published),
    )


class OverviewPage(PageView):
    title = "Overview"
    intro = "The day's page views at a glance: who came, from where, and how fresh the data are."
    needs = (MANIFEST, *OUTPUTS)

    def draw(self) -> pn.viewable.Viewable:
        day = self.store.summary()
        top = (
            summary_cards(day)
            if day is not None
            else empty_state(
                f"`{MANIFEST}` is not in the analytics zone yet: `{RUN_COMMAND}` "
                "writes it with the day's counts."
            )
        )
        categories = self.guarded(self._categories, "categories.csv")
        return pn.Column(top, self._highlights(), categories, sizing_mode="stretch_width")

    def _categories(self) -> pn.viewable.Viewable:
        frame = self.store.views_per("categories.csv")
        if frame.empty:
            return caption("*No rows in categories.csv.*")
        total = int(frame["page_views"].sum())
        top = frame.iloc[0]
        chart = bar_chart(frame, "page_category", "page_views", "Page views", "Page category")
        return pn.Column(
            heading(
                "What students viewed",
                below=f"{thousands(total)} identified page views in {len(frame)} page categories;"
                f" {top['page_category']} alone is {percent(top['page_views'] / total)}.",
            ),
            pn.pane.Bokeh(chart, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )

    def _highlights(self) -> pn.viewable.Viewable:
        """One sentence per output that exists: the largest state, course and client."""
        lines = []
        states = self.store.users_per_state()
        if not states.empty:
            row = states.iloc[0]
            lines.append(f"most students in **{row['state']}** ({thousands(row['students'])})")
        for name, noun in (("courses.csv", "course"), ("clients.csv", "client")):
            frame = self.store.views_per(name, limit=1)
            if not frame.empty and frame.iloc[0, 0] != MISSING_LABEL:
                top = frame.iloc[0]
                lines.append(f"top {noun} **{top.iloc[0]}** ({thousands(top['page_views'])} views)")
        hours = self.store.views_per_hour()
        if hours["page_views"].any():
            busy = hours.loc[hours["page_views"].idxmax()]
            lines.append(
                f"busiest at **{int(busy['hour']):02d}h** ({thousands(busy['page_views'])} views)"
            )
        if not lines:
            return missing_file("states.csv")
        text = "; ".join(lines)
        return heading("Highlights", below=text[0].upper() + text[1:] + ".")
