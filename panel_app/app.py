"""The dashboard app: one URL per page, each built fresh for every browser session.

Importing this module serves nothing; `serve()` (called by `pdbi serve`) or `python -m
panel_app.app` does. Each session gets its own store (its own day, threshold and filters) over
the shared caches, a sidebar to move between pages, a day picker (the latest day unless the
URL's `?day=` names another; the menu's links carry the choice to the next page), a refresh
button, and a periodic check that reloads the data when a run publishes. `/reports/` serves the
lake's reports zone (Data Docs) and nothing else; Panel's `/components/` route is closed.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from datetime import datetime
from html import escape
from urllib.parse import quote

import panel as pn
import param
from panel.template.base import BaseTemplate
from tornado.web import HTTPError, RequestHandler

from panel_app.events import EventsStore
from panel_app.pages.common import PageView
from panel_app.pages.geography import GeographyPage
from panel_app.pages.overview import OverviewPage
from panel_app.pages.pipeline import PipelinePage
from panel_app.pages.quality import QualityPage
from panel_app.pages.students import StudentsPage
from panel_app.pages.trends import TrendsPage
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
    "trends": ("Trends", TrendsPage),
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
DAY_ARG = "day"  # the URL query parameter holding the day a session shows
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
log = logging.getLogger(__name__)


def _links(current: str, day: str | None) -> str:
    query = f"?{DAY_ARG}={quote(day)}" if day else ""
    links = "".join(
        f'<a href="./{slug}{query}" class="{"current" if slug == current else ""}">'
        f"{escape(label)}</a>"
        for slug, (label, _) in PAGES.items()
    )
    return f'<nav aria-label="Pages">{links}</nav>'


def navigation(current: str, store: AnalyticsStore | None = None) -> pn.pane.HTML:
    """Links to every page, relative so the app also works under a path prefix; a day chosen
    in the picker goes along in the query, so the next page shows the same day."""
    pane = pn.pane.HTML(_links(current, None), stylesheets=[NAV_CSS])
    if store is not None:
        pane.object = _links(current, store.day)
        store.param.watch(lambda event: setattr(pane, "object", _links(current, event.new)), "day")
    return pane


def requested_day() -> str | None:
    """The day the page's URL names (`?day=2017-11-15`), if it looks like one."""
    values = (pn.state.session_args or {}).get(DAY_ARG) or []
    text = values[0].decode("utf-8", "replace") if values else ""
    return text if _DAY.fullmatch(text) else None


def day_picker(store: AnalyticsStore) -> pn.widgets.Select:
    """The days published, newest first; the latest unless the session chose another.
    A choice goes into the URL (a reload or a shared link shows the same day)."""
    picker = pn.widgets.Select(label="Day", width=180)

    def show(*_events: object) -> None:
        days = store.days()
        with param.parameterized.discard_events(picker):
            picker.options = list(reversed(days))
            picker.value = store.shown_day()
        picker.disabled = len(days) < 2

    def choose(event: param.parameterized.Event) -> None:
        if event.new is None or event.new == store.shown_day():
            return
        store.day = event.new
        if pn.state.location is not None:
            pn.state.location.update_query(**{DAY_ARG: event.new})

    show()
    picker.param.watch(choose, "value")
    store.param.watch(show, ["version", "day"])
    return picker


def data_status(store: AnalyticsStore) -> pn.Column:
    """The day shown and its picker, when it was checked, and the refresh button."""
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
    store.param.watch(show, ["version", "day"])
    button = pn.widgets.Button(label="Refresh data", color="primary", width=180)
    button.on_click(refresh)
    return pn.Column(day_picker(store), button, status, sizing_mode="stretch_width")


def build_page(slug: str, settings: Settings | None = None) -> App:
    """A fresh template around one page; a bad setting becomes a message, not a trace."""
    label, page_class = PAGES[slug]
    sidebar: list[object] = []
    try:
        settings = settings or get_settings()  # a ConfigError never echoes a password
        store = AnalyticsStore(day=requested_day())
        options = {
            StudentsPage: {"max_download_rows": settings.dashboard_download_rows},
            PipelinePage: {"timeout": PREFECT_TIMEOUT},
        }.get(page_class, {})
        main: object = page_class(store=store, **options)
        sidebar += [navigation(slug, store), data_status(store)]
        if settings.dashboard_reload_seconds > 0 and pn.state.curdoc is not None:
            pn.state.add_periodic_callback(
                store.reload_if_published, period=int(settings.dashboard_reload_seconds * 1000)
            )
    except PdbiError as exc:  # e.g. PDBI_LAKE_URL names a backend that is not installed, or
        # PDBI_DATABASE_URL is not a PostgreSQL URL
        main = pn.pane.Alert(str(exc), alert_type="danger")
        sidebar = [navigation(slug)]
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
        EventsStore(store, 0).warm()
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
