"""Stage: every source of the day validated and loaded into its stage table, a few at a time."""

from __future__ import annotations

from datetime import date

from prefect import flow
from prefect.futures import wait
from prefect.task_runners import ThreadPoolTaskRunner

from tasks.entities import ENTITIES
from tasks.quality.reports import build_reports
from tasks.settings import get_settings
from tasks.stage.load import LoadCounts, collect_counts, stage_entity


@flow(name="load-stage", flow_run_name="stage-{run_date}")
def _load_stage(
    run_date: date, load_id: str, sources: tuple[str, ...], archived: bool = False
) -> list[LoadCounts]:
    futures = {name: stage_entity.submit(name, run_date, load_id, archived) for name in sources}
    wait(list(futures.values()))
    # Data Docs are built even when a suite failed (that is when they matter); a failure to
    # render them is logged by Prefect and does not fail the load. A replay's are built by the
    # run that replays.
    if not archived:
        build_reports(run_date, return_state=True)
    counts = collect_counts(futures)  # raises once, naming every source that failed
    return [c for name in ENTITIES for c in counts.get(name, [])]


def load_stage(
    run_date: date,
    load_id: str,
    sources: tuple[str, ...] = tuple(ENTITIES),
    archived: bool = False,
) -> list[LoadCounts]:
    """The database takes at most PDBI_DB_CONCURRENCY loads at once. `sources`: the BASE A
    sources with new files (tasks/lake/extract.py); none to load, no subflow at all. The
    events are not staged: the Spark job validates them where it reads them. `archived`: the
    day's archived exports, for a replay (temp/<day>/transactional/)."""
    if not sources:
        return []
    runner = ThreadPoolTaskRunner(max_workers=get_settings().db_concurrency)
    return _load_stage.with_options(task_runner=runner)(run_date, load_id, sources, archived)
