"""Data quality: can the day's numbers be trusted?

The Spark job's own counts (malformed lines, events without a country) from the manifest; the
latest Great Expectations validation of each suite, the rows rejected over recent runs and the
checks that failed, from the warehouse (meta.validation_results, read-only); the days an
operator accepted although a guard failed (meta.guard_decisions); and a link to the Data Docs
the pipeline publishes in the lake's reports zone, served by this app.
"""

from __future__ import annotations

from html import escape

import pandas as pd
import panel as pn

from panel_app.charts import percent, stacked_columns, thousands
from panel_app.pages.common import PageView, caption, cards, empty_state, heading, kpi, table
from panel_app.reports import DATA_DOCS, data_docs_failure, has_data_docs
from panel_app.store import MANIFEST, RUN_COMMAND
from panel_app.warehouse import Quality, Unavailable, accepted_days, quality_data

GUARDS = {"empty-type2-export": "Empty export"}  # tasks/warehouse/guards.py names -> words
NO_ACCEPTED = "No day was published despite a failed guard."
ACCEPTED_CSS = """
table.accepted { border-collapse: collapse; font-size: 13.5px; width: 100%; }
table.accepted th { text-align: left; background: #fff4e5; color: #5c3c00; padding: 6px 10px;
                    border-bottom: 1px solid #f0d9b5; }
table.accepted td { padding: 5px 10px; border-bottom: 1px solid #f5ead8; vertical-align: top; }
"""
NO_VALIDATIONS = (
    f"No validation results yet. Run `{RUN_COMMAND}`: its load checks every source file "
    "with the suites in expectations/ and records what they found."
)
LINK_CSS = """
a.docs { display: inline-block; padding: 8px 14px; border-radius: 6px; background: #0072b5;
         color: white; text-decoration: none; font-weight: 600; }
a.docs:hover { background: #005a8f; }
"""


def latest_table(latest: pd.DataFrame) -> pd.DataFrame:
    """validation_latest.sql's rows in words and formatted numbers."""

    def verdict(row: pd.Series) -> str:
        if row["files_failed"]:
            return f"✖ load refused ({row['files_failed']} of {row['files']} files)"
        return "✔ all checks passed" if row["success"] else "⚠ loaded; some checks failed"

    evaluated = latest["rows_evaluated"].where(latest["rows_evaluated"] > 0, 1)
    return pd.DataFrame(
        {
            "Suite": latest["suite"],
            "Run date": latest["run_date"].astype(str),
            "Result": latest.apply(verdict, axis=1),
            "Expectations met": [
                f"{thousands(ok)} of {thousands(n)}"
                for ok, n in zip(
                    latest["successful_expectations"], latest["evaluated_expectations"], strict=True
                )
            ],
            "Rows checked": latest["rows_evaluated"].map(thousands),
            "Rows rejected": latest["rows_rejected"].map(thousands),
            "Rejected": (latest["rows_rejected"] / evaluated).map(percent),
            "Threshold": latest["threshold"].map(percent),
            "Validated at": pd.to_datetime(latest["validated_at"], utc=True).dt.strftime(
                "%Y-%m-%d %H:%M UTC"
            ),
        }
    )


def accepted_table(rows: list[tuple[str, ...]]) -> pn.pane.HTML:
    """The accepted decisions as a table of their own (apart from the validation tables)."""
    head = "".join(f"<th>{h}</th>" for h in ("Day", "Guard", "File", "What failed", "Accepted at"))
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(cell))}</td>" for cell in row) + "</tr>" for row in rows
    )
    html = f'<table class="accepted"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    return pn.pane.HTML(html, stylesheets=[ACCEPTED_CSS], sizing_mode="stretch_width")


class QualityPage(PageView):
    title = "Data quality"
    intro = (
        "What the Great Expectations suites said about each source, the rows they set aside, "
        "and the Spark job's own counts of unusable events."
    )

    def draw(self) -> pn.viewable.Viewable:
        return pn.Column(
            self._docs_link(),
            self._event_counts(),
            pn.panel(self._accepted, defer_load=True, sizing_mode="stretch_width"),
            pn.panel(self._validations, defer_load=True, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )

    def _accepted(self) -> pn.viewable.Viewable:
        """The days accepted although a guard failed; the day shown is called out."""
        title = "Days accepted despite a failed guard"
        try:
            frame = accepted_days()
        except Unavailable:  # the validations below say why the warehouse cannot be read
            return pn.Column()
        if frame.empty:
            return heading(title, below=NO_ACCEPTED)
        days = frame["run_date"].astype(str)
        shown = self.store.shown_day()
        below = (
            f"{days.nunique()} day{'s' if days.nunique() != 1 else ''} published although a "
            "guard failed, because an operator accepted them (`PDBI_ACCEPT_DAYS`)."
        )
        parts: list[pn.viewable.Viewable] = [heading(title, below=below)]
        if shown is not None and shown in set(days):
            parts.append(
                pn.pane.Alert(
                    f"The day shown, {shown}, is one of them.",
                    alert_type="warning",
                    sizing_mode="stretch_width",
                )
            )
        when = pd.to_datetime(frame["decided_at"], utc=True).dt.strftime("%Y-%m-%d %H:%M UTC")
        cells = [
            (day, GUARDS.get(guard, guard), source, message, at)
            for day, guard, source, message, at in zip(
                days, frame["guard"], frame["source_file"], frame["message"], when, strict=True
            )
        ]
        parts.append(accepted_table(cells))
        return pn.Column(*parts, sizing_mode="stretch_width")

    def _docs_link(self) -> pn.viewable.Viewable:
        failure = data_docs_failure(self.store.lake)
        if failure is not None:  # never "built" when the last build failed
            return pn.pane.Alert(
                f"The Data Docs are out of date: {failure}. The next run of the day builds "
                "them again.",
                alert_type="warning",
                sizing_mode="stretch_width",
            )
        if not has_data_docs(self.store.lake):
            return caption(
                "No Data Docs in the lake's reports zone yet: each run of "
                f"`{RUN_COMMAND}` builds them from the validation history."
            )
        href = f"./reports/{DATA_DOCS}"
        link = f'<a class="docs" href="{href}" target="_blank">Open the Data Docs</a>'
        return pn.Row(
            pn.pane.HTML(link, stylesheets=[LINK_CSS]),
            caption("Every validation of the last 30 run dates, expectation by expectation."),
        )

    def _event_counts(self) -> pn.viewable.Viewable:
        day = self.store.summary()
        if day is None:
            return caption(
                f"`{MANIFEST}` is not in the analytics zone yet: `{RUN_COMMAND}` "
                "writes the day's event counts."
            )
        counts = cards(
            kpi(
                "Malformed lines",
                thousands(day.malformed),
                f"{percent(day.malformed / day.read if day.read else 0)} of "
                f"{thousands(day.read)} event lines; a sample is in quarantine/",
            ),
            kpi(
                "Anonymous page views",
                thousands(day.anonymous),
                "no studentId_clientType: left out of the outputs",
            ),
            kpi(
                "No country",
                thousands(day.null_country),
                "identified page views without a country code",
            ),
        )
        return pn.Column(
            heading(f"Events of {day.run_date}"),
            counts,
            sizing_mode="stretch_width",
        )

    def _validations(self) -> pn.viewable.Viewable:
        try:
            quality = quality_data()
        except Unavailable as exc:
            return pn.pane.Alert(str(exc), alert_type="warning", sizing_mode="stretch_width")
        if quality.latest.empty:
            return empty_state(NO_VALIDATIONS)
        return pn.Column(
            heading("Latest validation per suite"),
            table(latest_table(quality.latest)),
            self._rejected(quality),
            self._failed(quality),
            sizing_mode="stretch_width",
        )

    @staticmethod
    def _rejected(quality: Quality) -> pn.viewable.Viewable:
        frame = quality.rejected
        total = int(frame["rows_rejected"].sum())
        days = frame["run_date"].nunique()
        text = f"{thousands(total)} rows rejected over the last {days} run dates with validations."
        chart = stacked_columns(frame, "run_date", "entity", "rows_rejected", "Rows rejected")
        return pn.Column(
            heading("Rejected rows over recent runs", below=text),
            pn.pane.Bokeh(chart, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )

    @staticmethod
    def _failed(quality: Quality) -> pn.viewable.Viewable:
        frame = quality.failed
        day = quality.rejected["run_date"].max()
        if frame.empty:
            return pn.Column(
                heading(f"Failed checks on {day}", below="Every expectation passed on every file."),
            )
        listing = pd.DataFrame(
            {
                "Source": frame["entity"],
                "Expectation": frame["expectation_type"],
                "Columns": frame["columns"],
                "Severity": frame["severity"],
                "Files": frame["files"].map(thousands),
                "Unexpected rows": frame["unexpected_rows"].map(thousands),
            }
        )
        return pn.Column(
            heading(f"Failed checks on {day}"), table(listing), sizing_mode="stretch_width"
        )
