"""Great Expectations Data Docs, built from the warehouse's validation history into the lake.

Validations run in throw-away contexts (tasks/quality/validate.py) and their trimmed results
are kept in meta.validation_results. Here a file-backed GX context in a scratch folder is given
the suites and the last days' results, renders its static site, and the site is copied into the
lake's reports/data_docs/ (index.html last), so anyone with access to the lake opens
reports/data_docs/index.html. Rebuilding from the warehouse keeps the docs complete whichever
worker ran which validation.

The pages load their scripts and styles from the site itself (tasks/quality/assets.py), so the
docs work without internet access. Every build leaves `status.json` beside the index: when it
was built, for which day, and the error when it failed; the run's last step reads it with the
index and fails the run, after everything else was published, when the docs are broken.
"""

from __future__ import annotations

import html
import json
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import great_expectations as gx
from great_expectations.core.expectation_validation_result import (
    expectationSuiteValidationResultSchema,
)
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.store.html_site_store import HtmlSiteStore
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    SiteSectionIdentifier,
    ValidationResultIdentifier,
)
from prefect import get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.states import Failed

from tasks.quality.assets import localise
from tasks.quality.validate import load_suite
from tasks.resources import postgres
from tasks.resources.lake import Lake, get_lake
from tasks.settings import get_settings

HISTORY_DAYS = 30  # run dates the docs cover, up to the run's own
SITE = "data_docs"  # under the lake's reports/ zone
STATUS = "status.json"  # the last build's outcome, beside index.html
_LINK = re.compile(r"""["']((?:validations|expectations)/[^"'#?]+\.html)["']""")


@dataclass(frozen=True)
class DocsStatus:
    """What an operator needs to know about the Data Docs after a run."""

    url: str  # where they open (PDBI_DOCS_URL or the dashboard's /reports/ route)
    error: str | None = None  # why they cannot be trusted, one sentence
    warnings: tuple[str, ...] = ()  # built, but not as wanted (assets from the internet)


def build_data_docs(
    results: list[tuple], root: Path, run_date: date, published: set[str] | frozenset = frozenset()
) -> Path:
    """Render (run_date, suite, load_id, validated_at, source_file, result) rows as a Data Docs
    site under `root`; returns the site's folder (the one holding index.html).

    The run date's validation pages (and the suites) are rendered, and older pages missing
    from `published` (the site's pages already in the lake): the index, built from every
    result, then links only to pages that exist. An older page already published gets an
    empty stand-in here (publish_site skips empty files): a day's history costs one render
    per file, not one per file per day kept."""
    context = gx.get_context(mode="file", project_root_dir=root)
    site = root / "gx" / "uncommitted" / "data_docs" / "local_site"
    backend = {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(site)}
    pages = HtmlSiteStore(backend, {"root_directory": str(root)})
    fresh: list[Any] = []
    for suite in sorted({row[1] for row in results}):
        fresh.append(ExpectationSuiteIdentifier(context.suites.add(load_suite(suite)).name))
    for day, suite, load_id, validated_at, source_file, result in results:
        run = RunIdentifier(run_name=load_id, run_time=validated_at.astimezone(UTC))
        key = ValidationResultIdentifier(
            ExpectationSuiteIdentifier(suite),
            run,
            page_name(source_file),
        )
        context.validation_results_store.set(key, _result(result, run, source_file))
        if day == run_date or page_path(pages, key, site) not in published:
            fresh.append(key)
        else:
            pages.set(SiteSectionIdentifier("validations", key), "")
    context.build_data_docs(resource_identifiers=fresh)
    return site


def page_name(source_file: str) -> str:
    """The page's name in the site: the file's name, no slash (the store's keys hold none) and
    no glob character (the events' `part-*.json` is `part-all.json`: an object store's
    listing, which the site check relies on, reads `*` as a pattern)."""
    name = source_file.rsplit("/", 1)[-1].replace("*", "all")
    return re.sub(r"[?\[\]]", "_", name)


def page_path(pages: HtmlSiteStore, key: ValidationResultIdentifier, site: Path) -> str:
    """Where a validation's page lies in the site, relative to index.html."""
    url = pages.get_url_for_resource(key, only_if_exists=False) or ""
    return Path(url.removeprefix("file://")).relative_to(site).as_posix()


def _result(result: dict[str, Any], run: RunIdentifier, source_file: str) -> Any:
    """The stored result, with the run (the load) and the file its pages are titled by."""
    meta = result.setdefault("meta", {})
    meta["run_id"] = run.to_json_dict()
    meta["batch_spec"] = {**meta.get("batch_spec", {}), "data_asset_name": source_file}
    return expectationSuiteValidationResultSchema.load(result)


def publish_site(lake: Lake, site: Path) -> str:
    """Copy the site's rendered files into reports/data_docs/; index.html goes last so that it
    never links to a page not yet copied."""
    files = sorted(p for p in site.rglob("*") if p.is_file() and p.stat().st_size)
    index = site / "index.html"
    for path in [p for p in files if p != index] + [index]:
        lake.publish_file(path, "reports", f"{SITE}/{path.relative_to(site).as_posix()}")
    return f"reports/{SITE}/index.html"


def published_pages(lake: Lake) -> set[str]:
    """The site's validation pages in the lake, relative to index.html."""
    prefix = f"{SITE}/"
    return {name.removeprefix(prefix) for name in lake.list("reports", f"{SITE}/validations/**")}


def write_status(lake: Lake, run_date: date, error: str | None, warnings: list[str]) -> None:
    status = {"run_date": run_date.isoformat(), "built_at": datetime.now(UTC).isoformat(),
              "error": error, "warnings": warnings}  # fmt: skip
    with lake.write_atomic("reports", f"{SITE}/{STATUS}") as out:
        out.write(json.dumps(status, indent=2).encode("utf-8"))


def validation_history(run_date: date) -> list[tuple[date, str, str, datetime, str, dict]]:
    with postgres.connect() as conn:
        rows = postgres.fetch_all(
            conn,
            postgres.read_sql("meta/validation_history.sql"),
            {"run_date": run_date, "days": HISTORY_DAYS},
        )
    return [tuple(row) for row in rows]  # type: ignore[misc]


def publish_data_docs(run_date: date) -> str:
    """Data Docs of the last HISTORY_DAYS run dates' validations, published to the lake with
    their scripts and styles; returns the index's place in the lake. The outcome is recorded
    in status.json: the warnings (one sentence each), or the error, which is then raised."""
    lake = get_lake()
    try:
        results = validation_history(run_date)
        scratch_root = get_settings().data_dir
        scratch_root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="data-docs-", dir=scratch_root) as scratch:
            site = build_data_docs(results, Path(scratch), run_date, published_pages(lake))
            warnings = localise(site)
            publish_site(lake, site)
    except Exception as exc:
        write_status(lake, run_date, failure_sentence(exc), [])
        raise
    write_status(lake, run_date, None, warnings)
    return f"reports/{SITE}/index.html"


def failure_sentence(exc: BaseException) -> str:
    first = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


@task(cache_policy=NO_CACHE, task_run_name="data-docs-{run_date}")
def build_reports(run_date: date) -> Any:
    """Build and publish the Data Docs. A failure is this task's Failed state, with its
    sentence (the traceback goes to the log file, not the terminal), and the run's last step
    fails the run for it once everything else is published."""
    log = get_run_logger()
    try:
        index = publish_data_docs(run_date)
    except Exception as exc:  # noqa: BLE001 - any failure of GX or the lake is reported alike
        log.info("the failed Data Docs build's traceback, for the record", exc_info=True)
        return Failed(message=f"Data Docs could not be built ({failure_sentence(exc)})")
    for warning in check_site(get_lake())[1]:
        log.warning(warning)
    log.info("Data Docs: %s in the lake at %s", index, get_lake().url)
    return index


def data_docs_url() -> str:
    """Where an operator opens the Data Docs: PDBI_DOCS_URL, else the dashboard's route."""
    settings = get_settings()
    if settings.docs_url:
        return settings.docs_url
    return f"http://{settings.serve_address}:{settings.serve_port}/reports/{SITE}/index.html"


def check_site(lake: Lake) -> tuple[str | None, tuple[str, ...]]:
    """(why the published Data Docs cannot be trusted, or None; the last build's warnings):
    no index, a failed last build, or an index linking a page that is not there."""
    if not lake.exists("reports", f"{SITE}/index.html"):
        return f"no Data Docs in reports/{SITE}/ of the lake", ()
    status: dict[str, Any] = {}
    if lake.exists("reports", f"{SITE}/{STATUS}"):
        status = json.loads(lake.read_bytes("reports", f"{SITE}/{STATUS}"))
    warnings = tuple(status.get("warnings") or ())
    if status.get("error"):
        return f"the Data Docs build of {status.get('run_date')} failed: {status['error']}", ()
    index = lake.read_bytes("reports", f"{SITE}/index.html").decode("utf-8")
    there = {name.removeprefix(f"{SITE}/") for name in lake.list("reports", f"{SITE}/**")}
    # links are URL-encoded (an events page names its files `part-*.json`: `part-%2A.json`)
    linked = {unquote(html.unescape(link)) for link in _LINK.findall(index)}
    missing = sorted(linked - there)
    if missing:
        return (
            f"the Data Docs index links {len(missing)} pages that are not in the lake "
            f"(first: {missing[0]})",
            warnings,
        )
    return None, warnings


@task(cache_policy=NO_CACHE, task_run_name="link-data-docs-{run_date}")
def link_data_docs(run_date: date) -> DocsStatus:
    """The Data Docs checked in the lake, rebuilt once when broken (a rerun with nothing new
    repairs them), then a link artifact to them, so the run's page in the UI leads to its
    validations; broken docs get a note instead of a link to a 404. The site is first built
    with the stage load (flows/stage.py), even when a suite failed."""
    url = data_docs_url()
    lake = get_lake()
    error, warnings = check_site(lake)
    if error is not None:
        get_run_logger().info("Data Docs: %s; building them again", error)
        try:
            publish_data_docs(run_date)
        except Exception as exc:  # noqa: BLE001 - recorded in status.json, read just below
            get_run_logger().info("the Data Docs rebuild's traceback", exc_info=True)
            error = f"Data Docs could not be built ({failure_sentence(exc)})"
        else:
            error, warnings = check_site(lake)
    if error is None:
        create_link_artifact(
            key="data-docs",
            link=url,
            link_text=f"Data Docs, validations up to {run_date}",
            description=f"Great Expectations Data Docs (reports/{SITE}/ in the lake at "
            f"{lake.url}), {run_date}",
        )
    else:
        create_markdown_artifact(
            key="data-docs",
            markdown=f"**Data Docs unavailable**, {run_date}: {error}.",
            description=f"Great Expectations Data Docs (reports/{SITE}/ in the lake), {run_date}",
        )
    return DocsStatus(url, error, warnings)
