"""What every page shares: the page frame, the empty state, cards of numbers and tables.

A page subclasses `PageView`, names the outputs it draws from and implements `draw()`. The frame
redraws the body whenever the store's `version` moves (refresh, or a newer run published) or its
`day` (the day picker), shows
the empty state naming the command to run when none of its outputs exist, and turns a file that
cannot be read into a sentence instead of a stack trace.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html import escape

import pandas as pd
import panel as pn
import param

from panel_app.store import EMPTY_MESSAGE, RUN_COMMAND, ZONE, AnalyticsStore
from tasks.errors import DataError

CARD_CSS = """
:host { width: 100%; }
.kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 12px; }
.kpi { background: #f7f9fc; border: 1px solid #e3e8f0; border-radius: 8px;
       padding: 12px 16px; box-sizing: border-box; }
.kpi .label { color: #5b6b7f; font-size: 13px; text-transform: uppercase; letter-spacing: .04em; }
.kpi .value { color: #10233f; font-size: 25px; font-weight: 600; margin: 4px 0 2px;
              white-space: nowrap; }
.kpi .note { color: #5b6b7f; font-size: 12.5px; }
"""
TABLE_CSS = """
table.panel-df { border-collapse: collapse; font-size: 13.5px; width: 100%; }
table.panel-df th { text-align: left; background: #f1f4f9; color: #33475b; padding: 6px 10px;
                    border-bottom: 1px solid #d9e0ea; }
table.panel-df td { padding: 5px 10px; border-bottom: 1px solid #edf1f6; text-align: left; }
table.panel-df tbody tr:hover { background: #f7f9fc; }
"""
_NUMBER = re.compile(r"^[<-]?[\d,.]+%?$|^\d[\d,]* of \d[\d,]*$")


def kpi(label: str, value: str, note: str = "") -> str:
    """A card with one number, its name above and a short explanation below."""
    return (
        f'<div class="kpi"><div class="label">{escape(label)}</div>'
        f'<div class="value">{escape(value)}</div><div class="note">{escape(note)}</div></div>'
    )


def cards(*kpis: str) -> pn.pane.HTML:
    """A row of cards that wraps on a narrow screen; one pane, so one model to send."""
    html = f'<div class="kpis">{"".join(kpis)}</div>'
    return pn.pane.HTML(html, stylesheets=[CARD_CSS], sizing_mode="stretch_width", margin=(5, 10))


def table(frame: pd.DataFrame, **params: object) -> pn.pane.DataFrame:
    """A small, already formatted frame as a plain HTML table (no index); columns holding
    only numbers are aligned right, text left."""
    params.setdefault("sizing_mode", "stretch_width")
    right = [
        f"table.panel-df td:nth-child({i}), table.panel-df th:nth-child({i}) "
        "{ text-align: right; }"
        for i, column in enumerate(frame.columns, start=1)
        if len(frame) and frame[column].astype(str).str.fullmatch(_NUMBER).all()
    ]
    css = TABLE_CSS + "\n".join(right)
    return pn.pane.DataFrame(frame, index=False, stylesheets=[css], **params)


def empty_state(message: str = EMPTY_MESSAGE) -> pn.pane.Alert:
    return pn.pane.Alert(message, alert_type="info", sizing_mode="stretch_width")


def missing_file(name: str) -> pn.pane.Markdown:
    return pn.pane.Markdown(
        f"`{name}` is not in the {ZONE} zone yet: `{RUN_COMMAND}` writes it.",
        sizing_mode="stretch_width",
    )


def caption(text: str) -> pn.pane.Markdown:
    return pn.pane.Markdown(text, sizing_mode="stretch_width", margin=(0, 10))


def heading(text: str, level: int = 2, below: str = "") -> pn.pane.Markdown:
    """A heading and, in the same pane, the sentence under it."""
    return pn.pane.Markdown(f"{'#' * level} {text}\n\n{below}", sizing_mode="stretch_width")


class PageView(pn.viewable.Viewer):
    """A page: its title and introduction, then a body drawn from the store."""

    store = param.ClassSelector(class_=AnalyticsStore)
    title = "Page"
    intro = ""
    needs: tuple[str, ...] = ()  # the page shows its empty state when none of these exist

    def __panel__(self) -> pn.viewable.Viewable:
        body = pn.bind(self._body, self.store.param.version, self.store.param.day)
        top = heading(self.title, 1, self.intro)
        return pn.Column(top, pn.panel(body), sizing_mode="stretch_width")

    def _body(self, _version: int, _day: str | None = None) -> pn.viewable.Viewable:
        if self.needs and len(self.store.missing(self.needs)) == len(self.needs):
            return empty_state()
        return self.guarded(self.draw)

    def guarded(
        self, draw: Callable[[], pn.viewable.Viewable], name: str | None = None
    ) -> pn.viewable.Viewable:
        """draw(), or why not: the output `name` is missing, or a file could not be read."""
        if name is not None and self.store.missing((name,)):
            return missing_file(name)
        try:
            return draw()
        except DataError as exc:
            return pn.pane.Alert(str(exc), alert_type="danger", sizing_mode="stretch_width")

    def draw(self) -> pn.viewable.Viewable:
        raise NotImplementedError
