-- validation_latest: what the dashboard's Data quality page shows first. grain: one row per
-- suite, summing the files of its most recent load (the events suite checks ten part files).
-- params: none. Read in a read-only transaction.
with latest_load as (
    select distinct on (suite)
        suite,
        load_id
    from meta.validation_results
    order by suite, validated_at desc
),
files as (
    select v.*
    from meta.validation_results as v
    inner join latest_load using (suite, load_id)
)
select
    suite,
    min(run_date) as run_date,
    count(*) as files,
    count(*) filter (where status = 'failed') as files_failed,
    bool_and(success) as success,
    sum(successful_expectations)::bigint as successful_expectations,
    sum(evaluated_expectations)::bigint as evaluated_expectations,
    sum(rows_evaluated)::bigint as rows_evaluated,
    sum(rows_rejected)::bigint as rows_rejected,
    max(threshold) as threshold,
    max(validated_at) as validated_at
from files
group by suite
order by suite
