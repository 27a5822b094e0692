"""What a run did, as one object for the CLI and as Prefect artifacts for the UI."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date

from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from tasks.errors import PdbiError
from tasks.quality.reports import DocsStatus
from tasks.stage.load import LoadCounts
from tasks.warehouse.merge import SCD_DIMENSIONS, MergeCounts


@dataclass
class RunSummary:
    run_date: date
    staged: list[LoadCounts] = field(default_factory=list)
    merged: list[MergeCounts] = field(default_factory=list)
    outputs: dict[str, int] = field(default_factory=dict)  # published file -> rows
    # read, malformed, anonymous, identified, null_country (as in analytics/manifest.json)
    events: dict[str, int] = field(default_factory=dict)
    data_docs: DocsStatus | None = None
    replayed: list[date] = field(default_factory=list)  # later days loaded again, in order


class IncompleteRun(PdbiError):
    """The day was loaded and published, but a step reporting on it failed (the Data Docs):
    the run fails, last, so that its state says so; the summary travels with the error."""

    def __init__(self, message: str, summary: RunSummary) -> None:
        super().__init__(message)
        self.summary = summary


def scd_changes(merged: list[MergeCounts]) -> list[dict[str, object]]:
    """One row per type-2 dimension: what its merge did to the history."""
    return [
        {"dimension": c.step, "opened": c.opened, "closed": c.closed, "deleted": c.deleted,
         "unchanged": c.unchanged, "corrected": c.corrected}
        for c in merged
        if c.step in SCD_DIMENSIONS
    ]  # fmt: skip


def publish_artifacts(summary: RunSummary) -> None:
    """Table artifacts with stable keys, so the Prefect UI keeps their history per key."""
    day = summary.run_date.isoformat()
    create_table_artifact(
        key="stage-counts",
        table=[asdict(c) for c in summary.staged],
        description=f"Rows read, loaded and rejected per entity, {day}",
    )
    create_table_artifact(
        key="merge-counts",
        table=[asdict(c) for c in summary.merged],
        description=f"Versions closed and opened per dimension, fact rows written, {day}",
    )
    create_table_artifact(
        key="scd-changes",
        table=scd_changes(summary.merged),
        description=f"Type-2 dimensions: versions opened, closed and unchanged keys, {day}",
    )
    if summary.replayed:
        create_table_artifact(
            key="replayed-days",
            table=[{"day": d.isoformat()} for d in summary.replayed],
            description=f"Days loaded again after {day}, in order, from their archived exports",
        )
    create_table_artifact(
        key="analytics-outputs",
        table=[{"file": f, "rows": n} for f, n in summary.outputs.items()],
        description=f"Files published to analytics/ (manifest.json last), {day}; events: "
        + ", ".join(f"{n} {k}" for k, n in summary.events.items()),
    )


@task(cache_policy=NO_CACHE)
def summarize_run(
    run_date: date,
    staged: list[LoadCounts],
    merged: list[MergeCounts],
    outputs: dict[str, int],
    events: dict[str, int],
    data_docs: DocsStatus | None = None,
    replayed: list[date] | None = None,
) -> RunSummary:
    """The summary and its artifacts; then the run fails if its Data Docs are broken."""
    summary = RunSummary(run_date, staged, merged, outputs, events, data_docs, list(replayed or []))
    publish_artifacts(summary)
    if data_docs is not None and data_docs.error:
        raise IncompleteRun(
            f"{run_date} was loaded and published, but {data_docs.error}; the next run of the "
            "day builds them again.",
            summary,
        )
    return summary
