-- meta.load_counts: one row per (load, entity, file). A retried load replaces its own row.
-- params: load_id, run_date, entity, source_file, rows_read, rows_loaded, rows_rejected.
insert into meta.load_counts (
    load_id, run_date, entity, source_file, rows_read, rows_loaded, rows_rejected
)
values (
    %(load_id)s, %(run_date)s, %(entity)s, %(source_file)s,
    %(rows_read)s, %(rows_loaded)s, %(rows_rejected)s
)
on conflict (load_id, entity, source_file) do update
set run_date = excluded.run_date,
    rows_read = excluded.rows_read,
    rows_loaded = excluded.rows_loaded,
    rows_rejected = excluded.rows_rejected,
    loaded_at = now()
