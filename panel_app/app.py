"""The dashboard app: maps URL slugs to functions that build a fresh page per browser session.

Importing this module serves nothing; `serve()` (called by `pdbi serve`) or `python -m
panel_app.app` does. Each session gets its own store (its own threshold) over the shared cache.
"""

from __future__ import annotations

from collections.abc import Callable

import panel as pn
from panel.template.base import BaseTemplate

from panel_app.pages.overview import OverviewPage
from panel_app.store import AnalyticsStore
from tasks.errors import PdbiError

TITLE = "pdbi — study platform analytics"
ACCENT = "#1f77b4"

App = BaseTemplate | pn.viewable.Viewable


def create_app() -> App:
    """A new template holding the overview page; a bad lake setting becomes a message."""
    try:
        main: pn.viewable.Viewable | pn.viewable.Viewer = OverviewPage(store=AnalyticsStore())
    except PdbiError as exc:  # e.g. PDBI_LAKE_URL names a backend that is not installed
        main = pn.pane.Alert(str(exc), alert_type="danger")
    return pn.template.FastListTemplate(
        title=TITLE,
        main=[main],
        accent=ACCENT,
        main_layout=None,  # no card around the page: the charts carry their own headings
        collapsed_sidebar=True,
    )


ROUTES: dict[str, Callable[[], App]] = {"/": create_app}


def websocket_origins(address: str, port: int) -> list[str]:
    """Origins Bokeh accepts; a wildcard address means the page is reached by names we can't
    know, so any origin is accepted (the dashboard shows aggregates and takes no input that
    writes)."""
    if address in ("0.0.0.0", "::", ""):
        return ["*"]
    return sorted({f"{address}:{port}", f"localhost:{port}", f"127.0.0.1:{port}"})


def serve(address: str, port: int, show: bool = False) -> None:
    """Serve the dashboard until interrupted."""
    pn.serve(
        ROUTES,
        address=address,
        port=port,
        show=show,
        title=TITLE,
        websocket_origin=websocket_origins(address, port),
        threaded=False,
        start=True,
    )


if __name__ == "__main__":
    from tasks.settings import get_settings

    settings = get_settings()
    serve(settings.serve_address, settings.serve_port)
