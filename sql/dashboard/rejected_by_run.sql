-- rejected_by_run: rejected rows over recent runs, for the Data quality page's chart.
-- grain: one row per (run_date, entity), over the latest validation of each source file of the
-- last %(days)s run dates that have validations. params: %(days)s.
with recent as (
    select distinct on (run_date, source_file)
        run_date,
        entity,
        rows_evaluated,
        rows_rejected
    from meta.validation_results
    where run_date > (select max(run_date) from meta.validation_results) - %(days)s::integer
    order by run_date, source_file, validated_at desc
)
select
    run_date,
    entity,
    sum(rows_evaluated)::bigint as rows_evaluated,
    sum(rows_rejected)::bigint as rows_rejected
from recent
group by run_date, entity
order by run_date, entity
