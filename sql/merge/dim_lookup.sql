-- The snapshot of one lookup dimension (dim_university, dim_course, dim_subject), typed.
-- grain: one row per {key}, the last record of the file winning. params: none. Ids are the
-- integer they spell (meta.to_int_or_null: '12', 12.0 and ' 12 ' are 12; the suites report ids
-- that collide so); names exactly as exported, 'unknown' when missing or blank.
-- identifiers {stage_table}, {key} and the {row_hash} expression over the tracked columns come
-- from SCD_DIMENSIONS in tasks/warehouse/merge.py (never from data). Id -1 is reserved for the unknown
-- member. scd_plan.sql and scd_apply.sql then merge `incoming` into the dimension.
drop table if exists pg_temp.incoming;
create temp table incoming on commit drop as
with typed as (
    select
        meta.to_int_or_null(id) as {key},
        meta.value_or_unknown(name) as name,
        source_row
    from {stage_table}
    where meta.to_int_or_null(id) is distinct from -1
        and meta.to_int_or_null(id) is not null
)
select distinct on ({key})
    {key},
    name,
    {row_hash} as row_hash
from typed
order by {key}, source_row desc;
