-- A run of daily-pipeline began (or a retried flow run began again): its row, state Running.
-- params: %(run_id)s (Prefect flow run id), %(run_name)s, %(run_date)s, %(started_at)s (null:
-- now).
insert into meta.pipeline_runs (run_id, run_name, run_date, state, started_at)
values (%(run_id)s, %(run_name)s, %(run_date)s, 'Running', coalesce(%(started_at)s, now()))
on conflict (run_id) do update
set run_name = excluded.run_name,
    run_date = excluded.run_date,
    state = excluded.state,
    started_at = excluded.started_at,
    finished_at = null,
    rows_read = null,
    rows_loaded = null,
    rows_rejected = null,
    counts = null,
    error = null
