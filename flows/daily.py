"""The daily pipeline, read top to bottom like the diagram in the README."""

from __future__ import annotations

from datetime import date

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from flows.analytics import analyse_and_publish
from flows.stage import load_stage
from flows.warehouse import merge_warehouse, replay_days
from tasks.lake.archive import archive_exports
from tasks.lake.backup import backup_raw, remove_raw
from tasks.lake.catch_up import find_missed_days, report_catch_up
from tasks.lake.extract import find_new_files, record_ingested
from tasks.preflight import preflight
from tasks.quality.reports import link_data_docs
from tasks.run_date import RunDate, as_date, scheduled_day
from tasks.run_lock import day_locks, run_lock, warehouse_lock
from tasks.run_record import RUN_HOOKS
from tasks.summary import RunSummary, summarize_run
from tasks.warehouse.export import export_for_spark
from tasks.warehouse.guards import check_exports
from tasks.warehouse.history import days_to_lock, later_days, record_loaded, unfinished_replay


def run_name() -> str:
    """daily-<day>: the date the run processes, also for scheduled runs given none."""
    day = as_date(flow_run.get_parameters().get("run_date"))
    return f"daily-{day or scheduled_day(flow_run.get_scheduled_start_time())}"


# the preflight writes the run's row in meta.pipeline_runs, RUN_HOOKS its end, however it ends
@flow(name="daily-pipeline", flow_run_name=run_name, log_prints=True, **RUN_HOOKS)
def daily_pipeline(run_date: RunDate | None = None, replay_later: bool = True) -> RunSummary:
    """One day: extract, stage, warehouse, export, Spark (the events validated, then analysed;
    the raw files backed up beside it), publish, Data Docs, summary.
    run_date None (the nightly schedule): the day before the scheduled start, after the earlier
    days it missed. A day older than days the warehouse holds makes them load again after it
    (replay_later False leaves that to a later run: a backfill's or a catch-up's last day)."""
    missed: dict[str, str] = {}
    if run_date is None:
        run_date = scheduled_day(flow_run.get_scheduled_start_time())
        preflight(run_date)  # before the catch-up: a fresh database has no manifest yet
        missed = catch_up(run_date)  # the earlier days with files and no committed run
    else:
        preflight(run_date)
    log = get_run_logger()
    with run_lock(run_date, log=log):  # one run per day at a time
        load_id = f"{run_date.isoformat()}-{(flow_run.get_id() or 'local')[:8]}"
        with warehouse_lock(log=log):  # one writer of the warehouse at a time
            before = unfinished_replay(run_date)  # what an interrupted replay left: usually none
            with day_locks(before, run_date, log=log):
                replayed = replay_days(before)
            new_files = find_new_files(run_date)
            staged = load_stage(run_date, load_id, new_files.sources)
            check_exports(run_date, load_id)  # an empty type-2 export stops the run here
            with day_locks(days_to_lock(run_date, new_files.merges), run_date, log=log):
                merged = merge_warehouse(run_date) if new_files.merges else []
                record_ingested(new_files, load_id)  # the manifest, then the day as loaded
                record_loaded(run_date, load_id, merged=new_files.merges)
                archive_exports(new_files)
                replayed += replay_days(later_days(run_date, replay_later))
            students = export_for_spark(run_date)
        backup = backup_raw.submit(new_files)  # beside Spark, which only reads raw/
        try:
            published = analyse_and_publish(run_date, students, load_id)  # its partition
        finally:
            backup.wait()  # never leave the copy running behind a failure
        backup.result()  # a failed copy fails the run, as it did after publishing
        remove_raw(new_files)  # PDBI_LAKE_REMOVE_RAW: once Spark has read them
        docs = link_data_docs(run_date)
        summary = summarize_run(
            run_date, staged, merged, published.outputs, published.events, docs, replayed
        )
    report_catch_up(run_date, missed)  # fails the run when a caught-up day failed
    return summary


def catch_up(before: date) -> dict[str, str]:
    """Each missed day as a daily-pipeline run of its own, in date order, leaving the replay of
    later days to the scheduled day's run; one failing does not stop the others. Returns the
    failed days' messages."""
    failed = {}
    for day in find_missed_days(before):
        state = daily_pipeline(day, replay_later=False, return_state=True)
        if not state.is_completed():
            failed[day.isoformat()] = str(state.message)
    return failed
