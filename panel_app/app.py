"""The dashboard app: one URL per page, each built fresh for every browser session.

Importing this module serves nothing; `serve()` (called by `pdbi serve`) or `python -m
panel_app.app` does. Each session gets its own store (its own threshold and filters) over the
shared caches, a sidebar to move between pages, a refresh button, and a periodic check that
reloads the data when a newer run's manifest is published. `/reports/` serves the lake's
reports zone (Data Docs) and nothing else; Panel's `/components/` route is closed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from html import escape

import panel as pn
from panel.template.base import BaseTemplate
from tornado.web import HTTPError, RequestHandler

from panel_app.events import EventsStore
from panel_app.pages.common import PageView
from panel_app.pages.geography import GeographyPage
from panel_app.pages.overview import OverviewPage
from panel_app.pages.pipeline import PipelinePage
from panel_app.pages.quality import QualityPage
from panel_app.pages.students import StudentsPage
from panel_app.pages.users import UsersPage
from panel_app.reports import ROUTE, ReportsHandler
from panel_app.store import OUTPUTS, AnalyticsStore
from tasks.errors import PdbiError
from tasks.settings import Settings, get_settings

TITLE = "pdbi — study platform analytics"
ACCENT = "#0072b5"
PREFECT_TIMEOUT = 3.0  # seconds the Pipeline page waits for the Prefect API
# slug -> (menu label, page class); "" is the Overview at /.
PAGES: dict[str, tuple[str, type[PageView]]] = {
    "": ("Overview", OverviewPage),
    "geography": ("Geography", GeographyPage),
    "users": ("Users", UsersPage),
    "students": ("Students", StudentsPage),
    "quality": ("Data quality", QualityPage),
    "pipeline": ("Pipeline", PipelinePage),
}
NAV_CSS = """
:host { width: 100%; }
nav { width: 100%; }
nav a { display: block; padding: 8px 12px; margin: 2px 0; border-radius: 6px; color: #1d3557;
        text-decoration: none; font-size: 15px; }
nav a:hover { background: #e8f1f8; }
nav a.current { background: #0072b5; color: white; font-weight: 600; }
"""
App = BaseTemplate | pn.viewable.Viewable
log = logging.getLogger(__name__)


def navigation(current: str) -> pn.pane.HTML:
    """Links to every page, relative so the app also works under a path prefix."""
    links = "".join(
        f'<a href="./{slug}" class="{"current" if slug == current else ""}">{escape(label)}</a>'
        for slug, (label, _) in PAGES.items()
    )
    return pn.pane.HTML(f'<nav aria-label="Pages">{links}</nav>', stylesheets=[NAV_CSS])


def data_status(store: AnalyticsStore) -> pn.Column:
    """The run the data come from, when it was checked, and the refresh button."""
    status = pn.pane.Markdown(sizing_mode="stretch_width")

    def show(*_events: object) -> None:
        try:
            manifest = store.manifest()
        except PdbiError:  # an unreadable manifest: the pages say more
            manifest = None
        day = f"Data of **{manifest['run_date']}**." if manifest else "No run published yet."
        status.object = f"{day}<br>Checked at {datetime.now():%H:%M:%S}."

    def refresh(_event: object) -> None:
        store.refresh()

    show()
    store.param.watch(show, "version")
    button = pn.widgets.Button(label="Refresh data", color="primary", width=180)
    button.on_click(refresh)
    return pn.Column(button, status, sizing_mode="stretch_width")


def build_page(slug: str, settings: Settings | None = None) -> App:
    """A fresh template around one page; a bad setting becomes a message, not a trace."""
    label, page_class = PAGES[slug]
    sidebar: list[object] = [navigation(slug)]
    try:
        settings = settings or get_settings()  # a ConfigError never echoes a password
        store = AnalyticsStore()
        options = {
            StudentsPage: {"max_download_rows": settings.dashboard_download_rows},
            PipelinePage: {"timeout": PREFECT_TIMEOUT},
        }.get(page_class, {})
        main: object = page_class(store=store, **options)
        sidebar.append(data_status(store))
        if settings.dashboard_reload_seconds > 0 and pn.state.curdoc is not None:
            pn.state.add_periodic_callback(
                store.reload_if_published, period=int(settings.dashboard_reload_seconds * 1000)
            )
    except PdbiError as exc:  # e.g. PDBI_LAKE_URL names a backend that is not installed, or
        # PDBI_DATABASE_URL is not a PostgreSQL URL
        main = pn.pane.Alert(str(exc), alert_type="danger")
    return pn.template.FastListTemplate(
        title=f"{TITLE} · {label}" if slug else TITLE,
        main=[main],
        sidebar=sidebar,
        sidebar_width=230,
        accent=ACCENT,
        main_layout=None,  # no card around the page: sections carry their own headings
    )


def _route(slug: str) -> Callable[[], App]:
    def build() -> App:
        return build_page(slug)

    build.__name__ = f"page_{slug or 'overview'}"
    return build


ROUTES: dict[str, Callable[[], App]] = {f"/{slug}": _route(slug) for slug in PAGES}


def websocket_origins(address: str, port: int) -> list[str]:
    """Origins Bokeh accepts; a wildcard address means the page is reached by names we can't
    know, so any origin is accepted (the dashboard shows aggregates and takes no input that
    writes)."""
    if address in ("0.0.0.0", "::", ""):
        return ["*"]
    return sorted({f"{address}:{port}", f"localhost:{port}", f"127.0.0.1:{port}"})


def warm_caches() -> None:
    """Read the current outputs into the shared caches and import Prefect's client, so the
    first visitor of a page does not wait for either."""
    try:
        store = AnalyticsStore()
        for name in OUTPUTS:
            store.frame(name)
        store.manifest()
        EventsStore(store, 0).frame()
    except Exception:  # a broken file is reported by the page that reads it
        log.warning("warming the dashboard caches failed", exc_info=True)
    import prefect.client.orchestration  # noqa: F401  the Pipeline page's client, seconds to import


class NotServed(RequestHandler):
    """A 404 for a route Panel offers and pdbi does not use."""

    def prepare(self) -> None:
        raise HTTPError(404)


# Panel's /components/<module>/<class>/... imports whatever module a URL names (to serve the
# files a custom component lists); pdbi's pages use none, so the route answers 404 before any
# import. Earlier patterns win, so these go ahead of Panel's own.
EXTRA_ROUTES: list[tuple[str, type[RequestHandler]]] = [
    (ROUTE, ReportsHandler),
    (r"/components/(.*)", NotServed),
]


def serve(
    address: str, port: int, show: bool = False, routes: dict[str, Callable] | None = None
) -> None:
    """Serve the dashboard until interrupted; `routes` adds pages (the benchmark's floor)."""
    threading.Thread(target=warm_caches, name="warm-caches", daemon=True).start()
    pn.serve(
        {**ROUTES, **(routes or {})},
        address=address,
        port=port,
        show=show,
        title=TITLE,
        websocket_origin=websocket_origins(address, port),
        extra_patterns=EXTRA_ROUTES,
        threaded=False,
        start=True,
    )


if __name__ == "__main__":
    current = get_settings()
    serve(current.serve_address, current.serve_port)
