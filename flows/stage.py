"""Stage: every BASE A entity of the day into its stage table, a few at a time."""

from __future__ import annotations

from datetime import date

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from tasks.entities import ENTITIES
from tasks.settings import get_settings
from tasks.stage import LoadCounts, stage_entity


@flow(name="load-stage", flow_run_name="stage-{run_date}")
def _load_stage(run_date: date, load_id: str) -> list[LoadCounts]:
    futures = [stage_entity.submit(name, run_date, load_id) for name in ENTITIES]
    return [future.result() for future in futures]


def load_stage(run_date: date, load_id: str) -> list[LoadCounts]:
    """The database takes at most PDBI_DB_CONCURRENCY loads at once."""
    runner = ThreadPoolTaskRunner(max_workers=get_settings().db_concurrency)
    return _load_stage.with_options(task_runner=runner)(run_date, load_id)
