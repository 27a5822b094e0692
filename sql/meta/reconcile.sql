-- reconcile: what the warehouse holds of one file and load, counted where it landed, so that
-- tasks/stage/load.py can check rows read = rows loaded + rows rejected before committing.
-- params: %(load_id)s, %(source_file)s. identifier {stage_table} from tasks/stage/load.py.
select
    (
        select count(*)
        from {stage_table}
        where load_id = %(load_id)s
            and source_file = %(source_file)s
    ) as rows_loaded,
    (
        select count(*)
        from meta.rejected_rows
        where load_id = %(load_id)s
            and source_file = %(source_file)s
    ) as rows_rejected
