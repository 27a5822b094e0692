"""The daily pipeline, read top to bottom like the diagram in the README."""

from __future__ import annotations

from datetime import date

from prefect import flow
from prefect.runtime import flow_run

from flows.stage import load_stage
from flows.warehouse import merge_warehouse
from tasks.analytics.run import run_analytics
from tasks.backup import backup_raw
from tasks.export import export_for_spark
from tasks.extract import find_new_files, record_ingested
from tasks.preflight import preflight
from tasks.publish import publish_outputs
from tasks.summary import RunSummary, summarize_run


@flow(name="daily-pipeline", flow_run_name="daily-{run_date}", log_prints=True)
def daily_pipeline(run_date: date) -> RunSummary:
    preflight()
    load_id = f"{run_date.isoformat()}-{(flow_run.get_id() or 'local')[:8]}"
    new_files = find_new_files(run_date)
    staged = load_stage(run_date, load_id, new_files.sources)
    merged = merge_warehouse(run_date) if new_files.sources else []
    record_ingested(new_files, load_id)
    students = export_for_spark(run_date)
    outputs = run_analytics(run_date, students)
    published = publish_outputs(outputs, run_date)
    backup_raw(new_files)
    return summarize_run(run_date, staged, merged, published, outputs["_events"])
