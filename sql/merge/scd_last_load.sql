-- scd_last_load: the latest run date that opened or closed a version of {dim} (null when empty).
-- Type-2 loads must run in date order: tasks/warehouse/merge.py refuses an earlier day. params: none.
select max(greatest(loaded_date, nullif(valid_to, date '9999-12-31')))
from {dim}
where {sk} <> -1;
