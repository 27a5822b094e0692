-- meta.rejected_rows: forget what an earlier attempt of the same load rejected from one
-- source, so that a retried load replaces its own rows (the events' lines come from every part
-- file of the day at once). params: %(load_id)s, %(entity)s.
delete from meta.rejected_rows
where load_id = %(load_id)s
    and entity = %(entity)s
