-- meta.rejected_rows: forget what an earlier attempt of the same load rejected from this file,
-- so that a retried load replaces its own rows. params: %(load_id)s, %(source_file)s.
delete from meta.rejected_rows
where load_id = %(load_id)s
    and source_file = %(source_file)s
