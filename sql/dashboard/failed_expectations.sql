-- failed_expectations: which checks failed on the latest run date, and on how many rows.
-- grain: one row per (entity, expectation type, columns, severity) of the latest validation of
-- each source file of that day. params: none.
with latest as (
    select distinct on (source_file)
        load_id,
        source_file
    from meta.validation_results
    where run_date = (select max(run_date) from meta.validation_results)
    order by source_file, validated_at desc
),
failed as (
    select e.*
    from meta.validation_expectations as e
    inner join latest using (load_id, source_file)
    where not e.success
)
select
    entity,
    expectation_type,
    coalesce(columns, '') as columns,
    coalesce(severity, 'critical') as severity,
    count(*) as files,
    coalesce(sum(unexpected_count), 0)::bigint as unexpected_rows
from failed
group by entity, expectation_type, columns, severity
order by unexpected_rows desc, entity, expectation_type
