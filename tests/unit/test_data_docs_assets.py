"""The Data Docs' scripts and styles come from the site itself, not from CDNs."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import re
from pathlib import Path

import pytest

from tasks.quality.assets import ASSETS, CDN, INSTALL, VENDOR, localise
from tests.conftest import IN_CI

pytestmark = pytest.mark.unit
GX = Path(importlib.util.find_spec("great_expectations").origin).parent  # type: ignore[arg-type]
PAGE = """<html><head>
<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css">
<link rel="stylesheet" href="https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css">
<script src="https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js"></script>
<script src='https://cdn.jsdelivr.net/npm/vega@5'></script>
<a href="https://greatexpectations.io">a link, not a load</a>
<img class="NO-CACHE" src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/\
logo-long.png?d=20261204T220607Z&dataContextId=4ec75a44" alt="Great Expectations"/>
</head></html>"""


def gx_cdn_urls() -> set[str]:
    """Every script or stylesheet URL of another host in GX's page templates, read here."""
    found: set[str] = set()
    for path in (GX / "render").rglob("*"):
        if path.suffix in (".j2", ".html", ".py") and path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            found.update(re.findall(r"""(?:src|href)=["'](https://[^"'{} ]+)["']""", text))
    return {url for url in found if re.search(r"\.(js|css)$|@\d+$", url)}


def test_every_cdn_file_of_the_gx_templates_has_a_local_copy() -> None:
    urls = gx_cdn_urls()
    assert len(urls) >= 12  # the templates were read
    assert urls <= set(CDN), sorted(urls - set(CDN))


@pytest.fixture
def installed() -> None:
    """The npm packages; missing is a skip on a workstation and a failure in CI."""
    if not ASSETS.is_dir():
        (pytest.fail if IN_CI else pytest.skip)(f"{ASSETS} is missing: run {INSTALL}")


@pytest.mark.usefixtures("installed")
def test_every_local_copy_is_installed() -> None:
    for url, asset in CDN.items():
        assert (ASSETS / asset.package / asset.file).is_file(), url


@pytest.mark.usefixtures("installed")
def test_files_checked_by_hash_are_the_bytes_the_cdn_serves() -> None:
    """GX's templates pin some files with subresource integrity: the local copy must hash the
    same, or the browser refuses it."""
    pinned: dict[str, str] = {}
    for path in (GX / "render").rglob("*.j2"):
        text = path.read_text(encoding="utf-8")
        for url, digest in re.findall(r'src="(https://[^"]+)" integrity="sha384-([^"]+)"', text):
            pinned[url] = digest
    assert pinned  # the templates were read
    for url, digest in pinned.items():
        asset = CDN[url]
        data = (ASSETS / asset.package / asset.file).read_bytes()
        assert base64.b64encode(hashlib.sha384(data).digest()).decode() == digest, url


@pytest.mark.usefixtures("installed")
def test_pages_load_their_files_from_the_site(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "validations" / "students").mkdir(parents=True)
    (site / "static" / "images").mkdir(parents=True)
    (site / "static" / "images" / "logo-long.png").write_bytes(b"png")
    (site / "index.html").write_text(PAGE, encoding="utf-8")
    (site / "validations" / "students" / "run.html").write_text(PAGE, encoding="utf-8")

    assert localise(site) == []

    index = (site / "index.html").read_text(encoding="utf-8")
    deep = (site / "validations" / "students" / "run.html").read_text(encoding="utf-8")
    assert f'href="{VENDOR}/bootstrap/dist/css/bootstrap.min.css"' in index
    assert f"src='{VENDOR}/vega/build/vega.min.js'" in index
    assert f'src="../../{VENDOR}/bootstrap-table/dist/bootstrap-table.min.js"' in deep
    assert 'href="https://greatexpectations.io"' in index  # a link is left alone
    assert 'src="../../static/images/logo-long.png"' in deep  # no beacon, no context id
    assert "dataContextId" not in index + deep
    assert not re.search(r"(src|href)=.https://(?!greatexpectations\.io)", index + deep)
    vendor = site / VENDOR
    assert (vendor / "fontawesome-free" / "css" / "all.min.css").is_file()
    assert (vendor / "fontawesome-free" / "webfonts" / "fa-solid-900.woff2").is_file()
    assert list((vendor / "bootstrap").glob("LICEN*"))  # the licence travels with the file
    copied = (vendor / "jquery").exists()
    assert not copied  # only what a page uses


def test_without_the_local_copies_the_pages_keep_the_cdn_and_say_so(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text(PAGE, encoding="utf-8")

    warnings = localise(tmp_path, assets=tmp_path / "nowhere")

    assert len(warnings) == 1 and "make docs-assets" in warnings[0]
    assert (tmp_path / "index.html").read_text(encoding="utf-8") == PAGE


def test_an_unknown_cdn_file_is_named(tmp_path: Path) -> None:
    url = "https://cdn.example.org/new-widget@2/widget.min.js"
    (tmp_path / "index.html").write_text(f'<script src="{url}"></script>', encoding="utf-8")
    assert localise(tmp_path) == [
        f"Data Docs load {url} from the internet: pdbi has no local copy of it"
    ]
