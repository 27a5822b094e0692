"""Great Expectations Data Docs, built from the warehouse's validation history into the lake.

Validations run in throw-away contexts (tasks/quality/validate.py) and their trimmed results
are kept in meta.validation_results. Here a file-backed GX context in a scratch folder is given
the suites and the last days' results, renders its static site, and the site is copied into the
lake's reports/data_docs/ (index.html last), so anyone with access to the lake opens
reports/data_docs/index.html. Rebuilding from the warehouse keeps the docs complete whichever
worker ran which validation.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

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
from prefect.artifacts import create_link_artifact
from prefect.cache_policies import NO_CACHE

from tasks.quality.validate import load_suite
from tasks.resources import postgres
from tasks.resources.lake import Lake, get_lake
from tasks.settings import get_settings

HISTORY_DAYS = 30  # run dates the docs cover, up to the run's own
SITE = "data_docs"  # under the lake's reports/ zone


def build_data_docs(results: list[tuple], root: Path, run_date: date) -> Path:
    """Render (run_date, suite, load_id, validated_at, source_file, result) rows as a Data Docs
    site under `root`; returns the site's folder (the one holding index.html).

    Only the run date's validation pages (and the suites) are rendered: older pages are in the
    lake already and the index, built from every result, links to them. A day's history costs
    one render per file, not one per file per day kept."""
    context = gx.get_context(mode="file", project_root_dir=root)
    site = root / "gx" / "uncommitted" / "data_docs" / "local_site"
    # GX's index lists the pages the site holds: earlier days' pages, already in the lake, get
    # empty stand-ins here (publish_site skips empty files)
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
            source_file.rsplit("/", 1)[-1],  # the store's keys hold no slashes
        )
        context.validation_results_store.set(key, _result(result, run, source_file))
        if day == run_date:
            fresh.append(key)
        else:
            pages.set(SiteSectionIdentifier("validations", key), "")
    context.build_data_docs(resource_identifiers=fresh)
    return site


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


def validation_history(run_date: date) -> list[tuple[date, str, str, datetime, str, dict]]:
    with postgres.connect() as conn:
        rows = postgres.fetch_all(
            conn,
            postgres.read_sql("meta/validation_history.sql"),
            {"run_date": run_date, "days": HISTORY_DAYS},
        )
    return [tuple(row) for row in rows]  # type: ignore[misc]


def publish_data_docs(run_date: date) -> str:
    """Data Docs of the last HISTORY_DAYS run dates' validations, published to the lake;
    returns the index's place in the lake."""
    results = validation_history(run_date)
    scratch_root = get_settings().data_dir
    scratch_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="data-docs-", dir=scratch_root) as scratch:
        return publish_site(get_lake(), build_data_docs(results, Path(scratch), run_date))


@task(cache_policy=NO_CACHE, task_run_name="data-docs-{run_date}")
def build_reports(run_date: date) -> str:
    index = publish_data_docs(run_date)
    get_run_logger().info("Data Docs: %s in the lake at %s", index, get_lake().url)
    return index


def data_docs_url() -> str:
    """Where an operator opens the Data Docs: PDBI_DOCS_URL, else the dashboard's route."""
    settings = get_settings()
    if settings.docs_url:
        return settings.docs_url
    return f"http://{settings.serve_address}:{settings.serve_port}/reports/{SITE}/index.html"


@task(cache_policy=NO_CACHE, task_run_name="link-data-docs-{run_date}")
def link_data_docs(run_date: date) -> str:
    """A link artifact to the Data Docs, so the run's page in the UI leads to its validations.
    The site itself is built with the stage load (flows/stage.py), even when a suite failed."""
    url = data_docs_url()
    create_link_artifact(
        key="data-docs",
        link=url,
        link_text=f"Data Docs, validations up to {run_date}",
        description=f"Great Expectations Data Docs (reports/{SITE}/ in the lake at "
        f"{get_lake().url}), {run_date}",
    )
    return url
