-- validation_history: the validations Data Docs show. grain: the latest validation of each
-- source file for each run date of the last %(days)s days up to %(run_date)s.
-- params: %(run_date)s, %(days)s.
select distinct on (run_date, source_file)
    run_date,
    suite,
    load_id,
    validated_at,
    source_file,
    result
from meta.validation_results
where run_date <= %(run_date)s
    and run_date > %(run_date)s::date - %(days)s::integer
order by run_date, source_file, validated_at desc
