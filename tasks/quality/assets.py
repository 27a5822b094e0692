"""Data Docs without the internet: the scripts and styles of GX's pages, served by the site.

Great Expectations renders pages whose `<script src>` and `<link href>` point at CDNs (jsDelivr,
unpkg, cdnjs, code.jquery.com, bootstrapcdn). Behind a firewall, or offline, the pages lose
their styles and the index its table of validations (drawn by bootstrap-table). The same files,
at the versions GX's templates name, come from npm packages installed at setup time into
`docs_assets/node_modules` (`make docs-assets`, from `docs_assets/package.json` and its lock
file; nothing third-party is committed). `localise()` copies each file a page uses into the
site's `static/vendor/<package>/`, with the package's licence, and points the page at it; the
files a page checks by hash (subresource integrity) are the very bytes the CDN serves. GX's
logo, fetched from its bucket with the context's id as a usage beacon, becomes the copy the
site already holds.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

ASSETS = Path(__file__).resolve().parent / "docs_assets" / "node_modules"
VENDOR = "static/vendor"
INSTALL = "make docs-assets (npm ci in tasks/quality/docs_assets)"


@dataclass(frozen=True)
class Asset:
    package: str  # npm package
    file: str  # path inside it
    folders: tuple[str, ...] = ()  # what the file refers to (a stylesheet's fonts)

    @property
    def folder(self) -> str:
        """The package's folder under static/vendor/ (no "@scope/": the /reports/ route
        serves only path segments starting with a letter or digit)."""
        return self.package.rsplit("/", 1)[-1]


_BOOTSTRAP_TABLE = "https://unpkg.com/bootstrap-table@{}/dist/"
_FILTER_CONTROL = "extensions/filter-control/bootstrap-table-filter-control"
# every CDN URL of GX 1.x's page templates -> the same file from npm, byte for byte where the
# page checks its hash (popper, bootstrap); one bootstrap-table for GX's 1.19.0 and 1.19.1
CDN: dict[str, Asset] = {
    "https://code.jquery.com/jquery-3.7.1.min.js": Asset("jquery", "dist/jquery.min.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": Asset(
        "popper.js", "dist/umd/popper.min.js"
    ),
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": Asset(
        "bootstrap", "dist/css/bootstrap.min.css"
    ),
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": Asset(
        "bootstrap", "dist/js/bootstrap.min.js"
    ),
    **{
        _BOOTSTRAP_TABLE.format(version) + name: Asset("bootstrap-table", f"dist/{name}")
        for version in ("1.19.0", "1.19.1")
        for name in (
            "bootstrap-table.min.css",
            "bootstrap-table.min.js",
            f"{_FILTER_CONTROL}.css",
            f"{_FILTER_CONTROL}.min.css",
            f"{_FILTER_CONTROL}.min.js",
        )
    },
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/"
    "bootstrap-datepicker.min.css": Asset(
        "bootstrap-datepicker", "dist/css/bootstrap-datepicker.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/"
    "bootstrap-datepicker.min.js": Asset(
        "bootstrap-datepicker", "dist/js/bootstrap-datepicker.min.js"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": Asset(
        "@fortawesome/fontawesome-free", "css/all.min.css", ("webfonts",)
    ),
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/"
    "bootstrap-prefers-dark.css": Asset(
        "@forevolve/bootstrap-dark", "dist/css/bootstrap-prefers-dark.css"
    ),
    "https://cdn.jsdelivr.net/npm/vega@5": Asset("vega", "build/vega.min.js"),
    "https://cdn.jsdelivr.net/npm/vega-lite@5": Asset("vega-lite", "build/vega-lite.min.js"),
    "https://cdn.jsdelivr.net/npm/vega-embed@6": Asset("vega-embed", "build/vega-embed.min.js"),
}
# a script or stylesheet a page loads from another host
_LOADED = re.compile(
    r"""(<(?:script|link)\b[^>]*?\s(?:src|href)\s*=\s*)(["'])(https?://[^"']+)\2"""
)
# GX's logo comes from its web-assets bucket with the data context's id in the query (a usage
# beacon); the same image ships in the site's static/images/
_LOGO = re.compile(
    r"""(<img\b[^>]*?\ssrc\s*=\s*)(["'])https://great-expectations-web-assets\.[^/"']+/"""
    r"""([\w.\-]+)(?:\?[^"']*)?\2"""
)


def localise(site: Path, assets: Path = ASSETS) -> list[str]:
    """Point every page of the site at local copies of its CDN files, copied into
    static/vendor/; returns the warnings (files not installed, URLs not known), each one
    sentence, for the run to report. Pages keep a CDN URL only when there is no local copy."""
    problems: dict[str, str] = {}
    copied: set[Asset] = set()

    def local(page: Path, url: str) -> str | None:
        asset = CDN.get(url)
        if asset is None:
            problems[url] = f"Data Docs load {url} from the internet: pdbi has no local copy of it"
            return None
        if not (assets / asset.package / asset.file).is_file():
            problems["missing"] = (
                f"Data Docs load their scripts and styles from CDNs: the offline copies are not "
                f"installed ({assets / asset.package} is missing); run {INSTALL}"
            )
            return None
        if asset not in copied:
            _copy(asset, assets, site / VENDOR / asset.folder)
            copied.add(asset)
        up = "../" * (len(page.relative_to(site).parts) - 1)
        return f"{up}{VENDOR}/{asset.folder}/{asset.file}"

    for page in sorted(site.rglob("*.html")):
        text = page.read_text(encoding="utf-8")

        def swap(match: re.Match[str], page: Path = page) -> str:
            found = local(page, match.group(3))
            return (
                match.group(0)
                if found is None
                else f"{match.group(1)}{match.group(2)}{found}{match.group(2)}"
            )

        def logo(match: re.Match[str], page: Path = page) -> str:
            if not (site / "static" / "images" / match.group(3)).is_file():
                return match.group(0)
            up = "../" * (len(page.relative_to(site).parts) - 1)
            quote = match.group(2)
            return f"{match.group(1)}{quote}{up}static/images/{match.group(3)}{quote}"

        localised = _LOGO.sub(logo, _LOADED.sub(swap, text))
        if localised != text:
            page.write_text(localised, encoding="utf-8")
    return list(problems.values())


def _copy(asset: Asset, assets: Path, target: Path) -> None:
    """The file, the folders it refers to and the package's licence files."""
    package = assets / asset.package
    (target / asset.file).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(package / asset.file, target / asset.file)
    for folder in asset.folders:
        shutil.copytree(package / folder, target / folder, dirs_exist_ok=True)
    for licence in package.glob("LICEN[CS]E*"):
        shutil.copyfile(licence, target / licence.name)
