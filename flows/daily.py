"""The daily pipeline, read top to bottom like the diagram in the README."""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from flows.stage import load_stage
from flows.warehouse import merge_warehouse
from tasks.analytics.current import analytics_inputs, reuse_published
from tasks.analytics.publish import publish_outputs
from tasks.analytics.run import run_analytics
from tasks.lake.backup import backup_raw
from tasks.lake.extract import find_new_files, record_ingested
from tasks.preflight import preflight
from tasks.quality.reports import build_reports, link_data_docs
from tasks.run_date import RunDate, as_date, scheduled_day
from tasks.run_lock import run_lock
from tasks.summary import RunSummary, summarize_run
from tasks.warehouse.export import export_for_spark


def run_name() -> str:
    """daily-<day>: the date the run processes, also for scheduled runs given none."""
    day = as_date(flow_run.get_parameters().get("run_date"))
    return f"daily-{day or scheduled_day(flow_run.get_scheduled_start_time())}"


@flow(name="daily-pipeline", flow_run_name=run_name, log_prints=True)
def daily_pipeline(run_date: RunDate | None = None) -> RunSummary:
    """One day: extract, stage, warehouse, export, Spark (the events validated, then analysed),
    publish, backup, Data Docs, summary.
    run_date None (the nightly schedule): the day before the scheduled start."""
    run_date = run_date or scheduled_day(flow_run.get_scheduled_start_time())
    preflight()
    with run_lock(run_date, log=get_run_logger()):  # one run per day at a time
        load_id = f"{run_date.isoformat()}-{(flow_run.get_id() or 'local')[:8]}"
        new_files = find_new_files(run_date)
        staged = load_stage(run_date, load_id, new_files.sources)
        merged = merge_warehouse(run_date) if new_files.sources else []
        record_ingested(new_files, load_id)
        students = export_for_spark(run_date)
        inputs = analytics_inputs(run_date, students)
        published = reuse_published(run_date, inputs)  # the same inputs: Spark is skipped
        if published is None:
            # the events are validated in Spark: Data Docs show their suite, passed or failed
            analysed = run_analytics(run_date, students, inputs, load_id, return_state=True)
            build_reports(run_date, return_state=True)
            published = publish_outputs(analysed.result(), run_date)
        backup_raw(new_files)
        link_data_docs(run_date)
        return summarize_run(run_date, staged, merged, published.outputs, published.events)
