"""The reports route's path check and reader: inside the reports zone, or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from panel_app.reports import has_data_docs, read_report, safe_name
from tasks.resources.lake import Lake, get_lake

pytestmark = pytest.mark.unit

SITE = {
    "data_docs/index.html": b"<h1>docs</h1>",
    "data_docs/static/styles/data_docs_default_styles.css": b"body {}",
    "data_docs/validations/events/2017-11-16-abcd1234/20171116T030000.000000Z/part-00000.json.html":
        b"<p>events</p>",
}  # fmt: skip


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("data_docs/index.html", "data_docs/index.html"),
        ("data_docs/", "data_docs/index.html"),
        ("data_docs/static/styles/a.css", "data_docs/static/styles/a.css"),
        ("data_docs/validations/s/2017-11-16-ab/20171116T030000.000000Z/x.json.html",
         "data_docs/validations/s/2017-11-16-ab/20171116T030000.000000Z/x.json.html"),
        ("São Paulo.html", "São Paulo.html"),
        ("", None),
        ("/", None),
        ("../secret.txt", None),
        ("data_docs/../../secret.txt", None),
        ("data_docs/./index.html", None),
        ("/etc/passwd", None),
        ("data_docs//index.html", None),
        ("..\\secret.txt", None),
        ("%2e%2e/secret.txt", None),  # what a doubly encoded path looks like after decoding
        (".hidden", None),
        ("data_docs/.index.html.tmp-1234", None),
        ("data_docs/\x00index.html", None),
        ("C:/Windows/win.ini", None),
    ],
)  # fmt: skip
def test_safe_name(path: str, name: str | None) -> None:
    assert safe_name(path) == name


@pytest.fixture
def lake(isolated_settings: Path) -> Lake:
    lake = get_lake()
    lake.ensure_zones()
    for name, body in SITE.items():
        with lake.write_atomic("reports", name) as out:
            out.write(body)
    return lake


def test_reads_files_of_the_zone_with_their_type(lake: Lake) -> None:
    for name, body in SITE.items():
        found = read_report(lake, name)
        assert found is not None and found[0] == body
    assert read_report(lake, "data_docs/index.html")[1] == "text/html; charset=utf-8"
    assert read_report(lake, "data_docs/")[0] == SITE["data_docs/index.html"]
    assert has_data_docs(lake)


def test_nothing_outside_the_zone_nor_a_folder_nor_a_missing_file(lake: Lake) -> None:
    root = Path(lake.root)
    (root / "secret.txt").write_text("secret")
    (root / "analytics" / "full.csv").write_text("student_id\n")
    (root / "reports" / "data_docs" / "leak.html").symlink_to(root / "secret.txt")
    (root / "reports" / "linked").symlink_to(root / "analytics", target_is_directory=True)

    for path in ("../secret.txt", "../analytics/full.csv", "data_docs/leak.html",
                 "linked/full.csv", "data_docs/static", "data_docs/missing.html"):  # fmt: skip
        assert read_report(lake, path) is None, path


def test_a_memory_lake_serves_its_reports() -> None:
    lake = Lake("memory://pdbi-unit-reports")
    try:
        with lake.write_atomic("reports", "data_docs/index.html") as out:
            out.write(b"<h1>docs</h1>")
        assert read_report(lake, "data_docs/index.html")[0] == b"<h1>docs</h1>"
        assert read_report(lake, "../reports/data_docs/index.html") is None
    finally:
        lake.fs.rm(lake.root, recursive=True)


def test_no_data_docs_yet(isolated_settings: Path) -> None:
    assert not has_data_docs(get_lake())
