-- meta.validation_results: one row per validation of a source file by its suite, for the
-- dashboard and for history. key: (load_id, source_file). status 'loaded' means the valid rows
-- were committed; 'failed' means more rows were rejected than the threshold allows and stage was
-- left as it was. `result` is the Great Expectations result without its per-row lists: Data Docs
-- are rebuilt from it (tasks/quality/reports.py).
create table meta.validation_results (
    load_id text not null,
    run_date date not null,
    entity text not null,
    suite text not null,
    source_file text not null,
    status text not null check (status in ('loaded', 'failed')),
    success boolean not null,
    evaluated_expectations integer not null,
    successful_expectations integer not null,
    rows_evaluated bigint not null,
    rows_unexpected bigint not null,
    rows_rejected bigint not null,
    reject_ratio double precision not null,
    threshold double precision not null,
    result jsonb not null,
    validated_at timestamptz not null default now(),
    primary key (load_id, source_file),
    check (rows_rejected <= rows_unexpected and rows_unexpected <= rows_evaluated)
);
create index validation_results_by_day on meta.validation_results (run_date, entity);

-- One row per expectation of each validation: which checks fail, how often, how badly.
create view meta.validation_expectations as
select
    v.load_id,
    v.run_date,
    v.entity,
    v.source_file,
    r -> 'expectation_config' ->> 'type' as expectation_type,
    coalesce(
        r -> 'expectation_config' -> 'kwargs' ->> 'column',
        r -> 'expectation_config' -> 'kwargs' ->> 'column_list'
    ) as columns,
    r -> 'expectation_config' ->> 'severity' as severity,
    (r ->> 'success')::boolean as success,
    (r -> 'result' ->> 'element_count')::bigint as element_count,
    (r -> 'result' ->> 'unexpected_count')::bigint as unexpected_count
from meta.validation_results as v
cross join lateral jsonb_array_elements(v.result -> 'results') as r;
