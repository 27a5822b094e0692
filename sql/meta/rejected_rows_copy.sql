-- meta.rejected_rows: the rejected rows of one file, streamed by tasks/stage/load.py.
copy meta.rejected_rows (
    load_id, run_date, entity, source_file, source_row, failed_expectations, record
) from stdin
