-- pipeline_runs: the warehouse's run history, the Pipeline page's source when the Prefect API
-- is not reachable. grain: one row per run, newest first. params: %(limit)s.
select
    coalesce(run_name, run_id) as run_id,
    run_date,
    state,
    started_at,
    finished_at,
    rows_loaded,
    rows_rejected,
    error
from meta.pipeline_runs
order by started_at desc, run_id
limit %(limit)s
