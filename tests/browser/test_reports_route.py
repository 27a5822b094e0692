"""/reports/ serves the lake's reports zone and nothing else, whatever the path says.

Raw HTTP requests (a browser would normalise `..` away before sending it): every attempt to
reach a file outside the zone gets a 4xx and none of its bytes. The fixture lake keeps a secret
in transactional/, one at its root, and a symlink inside reports/ pointing at the first.
"""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import pytest

from tests.browser.fixture_warehouse import DATA_DOCS, SECRET

pytestmark = pytest.mark.browser

TRAVERSALS = [
    "/reports/../transactional/2017-11-16/students.json",
    "/reports/../../secret.txt",
    "/reports/data_docs/../../transactional/2017-11-16/students.json",
    "/reports/%2e%2e/transactional/2017-11-16/students.json",
    "/reports/%2E%2E%2Ftransactional%2F2017-11-16%2Fstudents.json",
    "/reports/data_docs/..%2f..%2fsecret.txt",
    "/reports/%252e%252e/secret.txt",
    "/reports/..%5c..%5csecret.txt",
    "/reports/..\\..\\secret.txt",
    "/reports//etc/passwd",
    "/reports/%2fetc%2fpasswd",
    "/reports/data_docs/leak.html",  # a symlink out of the zone
    "/reports/data_docs/%00index.html",
    "/reports/.%2e/secret.txt",
    "/reports/",
    "/reports/data_docs/missing.html",
    "/analytics/full.csv",
    "/secret.txt",
]


def get(base: str, path: str) -> tuple[int, bytes, str]:
    """GET `path` exactly as written (no client-side normalisation)."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read(), response.getheader("Content-Type") or ""
    finally:
        conn.close()


@pytest.mark.parametrize("path", TRAVERSALS)
def test_no_path_leaves_the_reports_zone(servers, path: str):
    status, body, _ = get(servers["full"].url, path)
    assert 400 <= status < 500, (path, status)
    assert SECRET.encode() not in body


@pytest.mark.parametrize("name", sorted(DATA_DOCS))
def test_the_data_docs_are_served(servers, name: str):
    status, body, content_type = get(servers["full"].url, f"/reports/{name}")
    assert status == 200
    assert body.decode("utf-8") == DATA_DOCS[name]
    expected = "text/html" if name.endswith(".html") else "text/css"
    assert content_type.startswith(expected)


def test_a_folder_serves_its_index(servers):
    status, body, _ = get(servers["full"].url, "/reports/data_docs/")
    assert status == 200
    assert body.decode("utf-8") == DATA_DOCS["data_docs/index.html"]
