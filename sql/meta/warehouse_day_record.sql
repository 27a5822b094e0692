-- meta.warehouse_days: the day's merges committed, dw holds its load. params: %(run_date)s,
-- %(load_id)s (the run's load, or a replay's). Rerun-safe: a later load of the day replaces it.
insert into meta.warehouse_days (run_date, load_id)
values (%(run_date)s, %(load_id)s)
on conflict (run_date) do update
set load_id = excluded.load_id,
    loaded_at = now()
