-- What a students export was made from, in one value: every day dw holds with the load that
-- wrote it and when (meta.warehouse_days: a merge that commits records its day, a rewind deletes
-- the days it undoes), and the migrations applied. Unchanged value, unchanged export: a rerun
-- with nothing new keeps the Parquet it wrote (tasks/warehouse/export.py). params: none.
select concat_ws(
    ';',
    (
        select string_agg(concat_ws(' ', run_date, load_id, loaded_at), ',' order by run_date)
        from meta.warehouse_days
    ),
    (
        select string_agg(concat_ws(' ', version, checksum), ',' order by version)
        from meta.schema_migrations
    )
) as state
