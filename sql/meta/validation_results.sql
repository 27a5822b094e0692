-- meta.validation_results: one row per (load, file). A retried load replaces its own row.
-- params: the columns of meta.validation_results but validated_at; %(result)s is jsonb.
insert into meta.validation_results (
    load_id, run_date, entity, suite, source_file, status, success,
    evaluated_expectations, successful_expectations,
    rows_evaluated, rows_unexpected, rows_rejected, reject_ratio, threshold, result
)
values (
    %(load_id)s, %(run_date)s, %(entity)s, %(suite)s, %(source_file)s, %(status)s, %(success)s,
    %(evaluated_expectations)s, %(successful_expectations)s,
    %(rows_evaluated)s, %(rows_unexpected)s, %(rows_rejected)s, %(reject_ratio)s, %(threshold)s,
    %(result)s
)
on conflict (load_id, source_file) do update
set run_date = excluded.run_date,
    entity = excluded.entity,
    suite = excluded.suite,
    status = excluded.status,
    success = excluded.success,
    evaluated_expectations = excluded.evaluated_expectations,
    successful_expectations = excluded.successful_expectations,
    rows_evaluated = excluded.rows_evaluated,
    rows_unexpected = excluded.rows_unexpected,
    rows_rejected = excluded.rows_rejected,
    reject_ratio = excluded.reject_ratio,
    threshold = excluded.threshold,
    result = excluded.result,
    validated_at = now()
