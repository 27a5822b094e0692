"""Pipeline: did last night's run work, and how long did it take?

The last runs of the daily-pipeline flow from the Prefect API when it answers within a few
seconds, else from the warehouse's run history (meta.pipeline_runs); the page says which.
"""

from __future__ import annotations

import pandas as pd
import panel as pn
import param

from panel_app.charts import thousands
from panel_app.pages.common import PageView, caption, cards, empty_state, heading, kpi, table
from panel_app.warehouse import FLOW_NAME, Runs, Unavailable, format_duration, pipeline_runs
from tasks.settings import CASE_STUDY_DATE

NO_RUNS = f"No pipeline runs recorded yet. Run `pdbi run --date {CASE_STUDY_DATE}` to make one."
_DONE = {"completed", "succeeded", "success"}
_FAILED = {"failed", "crashed", "cancelled", "timedout"}


def marked(state: str) -> str:
    """The state with a sign an eye finds in a column: ✔ done, ✖ failed, ⟳ still going."""
    key = state.lower().replace(" ", "")
    if key in _DONE:
        return f"✔ {state}"
    if key in _FAILED:
        return f"✖ {state}"
    return f"⟳ {state}" if key in {"running", "pending", "scheduled"} else state


def _when(value: pd.Timestamp) -> str:
    return "" if pd.isna(value) else value.strftime("%Y-%m-%d %H:%M:%S UTC")


def _count(value: object) -> str:
    return "" if value is None or pd.isna(value) else thousands(int(value))  # type: ignore[arg-type]


def runs_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The runs in words; the warehouse's history adds the rows each run loaded and rejected
    (BASE A) and the sentence a failed run ended with."""
    table = pd.DataFrame(
        {
            "Run": frame["run"].astype(str),
            "Run date": frame["run_date"].map(lambda d: "" if pd.isna(d) else str(d)),
            "State": frame["state"].astype(str).map(marked),
            "Started": frame["started_at"].map(_when),
            "Finished": frame["finished_at"].map(_when),
            "Duration": frame["duration"].map(format_duration),
        }
    )
    if "rows_loaded" in frame:
        table["Rows loaded"] = frame["rows_loaded"].map(_count)
        table["Rejected"] = frame["rows_rejected"].map(_count)
        table["Error"] = frame["error"].map(lambda e: "" if e is None or pd.isna(e) else str(e))
    return table


class PipelinePage(PageView):
    title = "Pipeline"
    intro = f"The last runs of the {FLOW_NAME} flow: their state and how long they took."

    timeout = param.Number(default=3.0, bounds=(0.1, None), doc="Seconds to wait for Prefect.")

    def draw(self) -> pn.viewable.Viewable:
        return pn.panel(self._runs, defer_load=True, sizing_mode="stretch_width")

    def _runs(self) -> pn.viewable.Viewable:
        try:
            runs = pipeline_runs(self.timeout)
        except Unavailable as exc:
            return pn.Column(
                pn.pane.Alert(str(exc), alert_type="warning", sizing_mode="stretch_width"),
                empty_state(NO_RUNS),
                sizing_mode="stretch_width",
            )
        source = caption(f"From the {runs.source}. {runs.note}".strip())
        if runs.frame.empty:
            return pn.Column(source, empty_state(NO_RUNS), sizing_mode="stretch_width")
        return pn.Column(
            source,
            self._cards(runs),
            heading("Last runs", level=2),
            table(runs_table(runs.frame)),
            sizing_mode="stretch_width",
        )

    @staticmethod
    def _cards(runs: Runs) -> pn.pane.HTML:
        frame = runs.frame
        last = frame.iloc[0]
        done = frame[frame["state"].str.lower().isin(_DONE)]
        durations = done["duration"].dropna()
        typical = format_duration(durations.median()) if len(durations) else "—"
        if len(done):
            ok = done.iloc[0]
            success = kpi(
                "Last success",
                str(ok["run_date"]),
                f"{ok['run']}, finished {_when(ok['finished_at'])}",
            )
        else:
            success = kpi("Last success", "—", "none among the runs shown")
        return cards(
            kpi("Last run", str(last["state"]), f"{last['run']}, {_when(last['started_at'])}"),
            success,
            kpi("Typical duration", typical, f"median of {thousands(len(durations))} completed"),
            kpi("Runs shown", thousands(len(frame)), f"{thousands(len(done))} completed"),
        )
