"""The published site's check reads the index's links as a browser does: URL-encoded names
(`part-%2A.json` is the file `part-*.json`) are the lake's files; and a page is never named with
a glob character, which an object store's listing would read as a pattern."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.quality.reports import SITE, check_site, page_name
from tasks.resources.lake import Lake

pytestmark = pytest.mark.unit
PAGE = "validations/events/2017-11-16-load/20171117T000000Z/part-*.json.html"


def site(tmp_path: Path, pages: list[str]) -> Lake:
    lake = Lake(str(tmp_path / "lake"))
    link = PAGE.replace("*", "%2A")
    index = f'<html><a href="{link}">events</a></html>'.encode()
    for name, data in [("index.html", index), *((p, b"<html>Overview</html>") for p in pages)]:
        with lake.write_atomic("reports", f"{SITE}/{name}") as target:
            target.write(data)
    return lake


def test_an_encoded_link_to_a_page_the_lake_holds_is_no_error(tmp_path: Path) -> None:
    assert check_site(site(tmp_path, [PAGE])) == (None, ())


def test_an_encoded_link_to_a_missing_page_is_named_decoded(tmp_path: Path) -> None:
    error, _ = check_site(site(tmp_path, []))
    assert error == f"the Data Docs index links 1 pages that are not in the lake (first: {PAGE})"


def test_a_page_is_named_by_its_file_without_glob_characters() -> None:
    assert page_name("transactional/2017-11-16/students.json") == "students.json"
    assert page_name("raw/2017-11-16/part-*.json") == "part-all.json"
    assert page_name("raw/2017-11-16/part-[1]?.json") == "part-_1__.json"
