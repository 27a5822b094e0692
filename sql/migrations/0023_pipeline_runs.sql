-- The warehouse's own run history: every run of daily-pipeline writes its row when it starts
-- and when it ends (tasks/run_record.py: the preflight, then flow hooks), so the Pipeline
-- page has a history without a Prefect API. run_id is the Prefect flow run id (a retried flow
-- run keeps its row), run_name its name (daily-<day>). Counts are the BASE A stage totals, the
-- per-source, published-file and event counts in `counts`; `error` is the failure's sentence.
alter table meta.pipeline_runs
    add column run_name text,
    add column rows_read bigint,
    add column rows_loaded bigint,
    add column rows_rejected bigint,
    add column counts jsonb,
    add column error text;

create index pipeline_runs_started on meta.pipeline_runs (started_at desc);
