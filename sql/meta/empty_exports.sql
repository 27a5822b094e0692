-- empty_exports: the files of one load that put no row into stage for a versioned (type-2)
-- source, with the figures the guard reports: rows read, loaded and rejected, and the previous
-- load of the same source (its run date and the rows it loaded). One row per empty file.
-- params: %(load_id)s, %(run_date)s, %(entities)s (text[]: the type-2 sources).
with this_load as (
    select entity, source_file, rows_read, rows_loaded, rows_rejected
    from meta.load_counts
    where load_id = %(load_id)s
        and entity = any(%(entities)s)
),
earlier_loads as (
    select entity, run_date, load_id, sum(rows_loaded)::bigint as rows_loaded, max(loaded_at) as at
    from meta.load_counts
    where entity = any(%(entities)s)
        and run_date < %(run_date)s
    group by entity, run_date, load_id
),
previous as (
    select distinct on (entity) entity, run_date, rows_loaded
    from earlier_loads
    order by entity, run_date desc, at desc
)
select
    t.entity,
    t.source_file,
    t.rows_read,
    t.rows_loaded,
    t.rows_rejected,
    p.run_date as previous_day,
    p.rows_loaded as previous_rows
from this_load as t
left join previous as p using (entity)
where t.rows_loaded = 0
order by t.source_file
