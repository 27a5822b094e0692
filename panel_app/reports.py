"""The lake's reports zone (Great Expectations Data Docs) served at /reports/, and nothing else.

The files are read through the lake module, so the route works on every backend the pipeline
writes to. A request names a file by a relative path that must stay inside the zone: every
segment is checked before the lake is asked (no `..`, no empty or hidden segment, no
backslash, no percent sign left after Tornado's one decoding, so no encoded traversal); a local
lake's file must also resolve, symlinks followed, inside the zone's folder. Anything else is a
404, whatever the reason, so a probe learns nothing.
"""

from __future__ import annotations

import json
import mimetypes
import os
import re

from tornado.web import HTTPError, RequestHandler

from tasks.resources.lake import Lake, get_lake

ZONE = "reports"
ROUTE = r"/reports/(.*)"
DATA_DOCS = "data_docs/index.html"  # where tasks/quality/reports.py publishes the site's index
DOCS_STATUS = "data_docs/status.json"  # the last build's outcome, written beside it
_SEGMENT = re.compile(r"[\w][\w.\-+=,@~ ]*")  # letters, digits and a few marks; no leading dot


def safe_name(path: str) -> str | None:
    """The zone-relative file a request path names, or None when it may leave the zone."""
    if path.endswith("/"):
        path += "index.html"
    segments = path.split("/")
    if not path or any(not _SEGMENT.fullmatch(segment) for segment in segments):
        return None
    return "/".join(segments)


def _inside_zone(lake: Lake, name: str) -> bool:
    """On a local lake, the real file (symlinks resolved) must lie under the zone's folder."""
    if not lake.is_local:
        return True
    zone = os.path.realpath(lake.path(ZONE))
    real = os.path.realpath(lake.path(ZONE, name))
    return real.startswith(zone + os.sep)


def read_report(lake: Lake, path: str) -> tuple[bytes, str] | None:
    """(bytes, content type) of a file of the reports zone, or None for a 404."""
    name = safe_name(path)
    if name is None or not _inside_zone(lake, name):
        return None
    full = lake.path(ZONE, name)
    if not lake.fs.isfile(full):
        return None
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if content_type.startswith("text/") or content_type.endswith(("javascript", "json")):
        content_type += "; charset=utf-8"
    return lake.read_bytes(ZONE, name), content_type


class ReportsHandler(RequestHandler):
    """GET /reports/<path>: a file of the lake's reports zone."""

    def get(self, path: str) -> None:
        found = read_report(get_lake(), path)
        if found is None:
            raise HTTPError(404)
        body, content_type = found
        self.set_header("Content-Type", content_type)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Cache-Control", "no-cache")
        self.write(body)


def has_data_docs(lake: Lake) -> bool:
    return lake.exists(ZONE, DATA_DOCS)


def data_docs_failure(lake: Lake) -> str | None:
    """The last Data Docs build's error, as the pipeline recorded it, or None."""
    if not lake.exists(ZONE, DOCS_STATUS):
        return None
    try:
        status = json.loads(lake.read_bytes(ZONE, DOCS_STATUS))
    except ValueError:
        return f"reports/{DOCS_STATUS} cannot be read"
    error = status.get("error") if isinstance(status, dict) else None
    return f"the build of {status.get('run_date')} failed: {error}" if error else None
