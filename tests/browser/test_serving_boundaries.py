"""What the served dashboard lets out, by real HTTP requests against served apps.

tests/browser/test_reports_route.py tries every traversal against /reports/; here the same
attempts go to every other route (Bokeh's /static/, the pages, made-up zones), and `pdbi serve`
is checked to listen on 127.0.0.1 alone unless PDBI_SERVE_ADDRESS says otherwise.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.browser.conftest import _CLOSED_SOCKET, _free_port
from tests.browser.fixture_warehouse import SECRET
from tests.browser.test_reports_route import get

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[2]
PYPROJECT = (REPO / "pyproject.toml").read_text(encoding="utf-8").splitlines()[0]
TRAVERSALS = [
    "/static/../../../../../../etc/passwd",
    "/static/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/static/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/static/..%252f..%252f..%252fetc%252fpasswd",
    "/static//etc/passwd",
    "/static/%2fetc%2fpasswd",
    "/static/..%5c..%5c..%5cpyproject.toml",
    "/%2e%2e/%2e%2e/secret.txt",
    "/..%2f..%2fsecret.txt",
    "/../../../etc/passwd",
    "//etc/passwd",
    "/etc/passwd",
    "/analytics/../transactional/2017-11-16/students.json",
    "/transactional/2017-11-16/students.json",
    "/lake/secret.txt",
    "/secret.txt",
    "/pyproject.toml",
    "/students/..%2f..%2fsecret.txt",
    "/reports/..%252f..%252fsecret.txt",
]


# Panel's component route imports the module a URL names; pdbi uses none of it
COMPONENTS = [
    "/components/this/x/y/z.css",  # importing `this` prints the Zen of Python
    "/components/antigravity/x/y/z.js",  # and this one opens a web browser
    "/components/../../../etc/passwd",
    "/components/..%2f..%2f..%2fetc%2fpasswd",
    "/components/os/path/_css/x.css",
    "/components/panel.pane/Markdown/_stylesheets/x.css",
    "/components/panel/template/FastListTemplate/_css/fast_list_template.css",
    "/components/tasks.settings/Settings/_css/x.css",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_no_route_serves_a_file_outside_the_zones(servers, path: str) -> None:
    status, body, _ = get(servers["full"].url, path)
    assert 400 <= status < 500, (path, status)
    assert SECRET.encode() not in body and b"root:x:0:0" not in body
    assert PYPROJECT.encode() not in body


def test_the_component_route_imports_nothing(servers) -> None:
    for path in COMPONENTS:
        status, body, _ = get(servers["full"].url, path)
        assert 400 <= status < 500, (path, status)
        assert b"root:x:0:0" not in body
    # Tornado's report of a write to a tab an earlier test closed is not an import's trace
    log = _CLOSED_SOCKET.sub("", servers["full"].log.read_text())
    assert "Beautiful is better than ugly" not in log and "Traceback" not in log


def listening(port: int) -> set[str]:
    """Addresses a socket listens on at `port`, from /proc/net/tcp and tcp6 (hex, as the
    kernel writes them: 0100007F is 127.0.0.1, 00000000 any IPv4 address)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def serve_and_look(tmp_path: Path, **settings: str) -> set[str]:
    """`pdbi serve` with these settings; the addresses it listens on once it answers."""
    port = _free_port()
    (tmp_path / "lake" / "analytics").mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PDBI_", "PREFECT_API"))}
    env.update(PDBI_LAKE_URL=str(tmp_path / "lake"), PDBI_DATA_DIR=str(tmp_path / "data"),
               PDBI_SERVE_PORT=str(port), **settings)  # fmt: skip
    pdbi = Path(sys.executable).with_name("pdbi")
    log = tmp_path / "serve.log"
    process = subprocess.Popen([str(pdbi), "serve"], env=env, stdout=log.open("wb"),
                               stderr=subprocess.STDOUT, cwd=tmp_path)  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while not listening(port) and time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()
            time.sleep(0.2)
        status, _, _ = get(f"http://127.0.0.1:{port}/", "/")
        assert status == 200, log.read_text()
        return listening(port)
    finally:
        process.terminate()
        process.wait(20)


def test_pdbi_serve_binds_the_loopback_address_by_default(tmp_path: Path) -> None:
    assert serve_and_look(tmp_path) == {"0100007F"}


def test_pdbi_serve_binds_another_address_when_told(tmp_path: Path) -> None:
    assert serve_and_look(tmp_path, PDBI_SERVE_ADDRESS="0.0.0.0") == {"00000000"}
