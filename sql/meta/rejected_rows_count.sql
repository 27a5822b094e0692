-- The rejected rows one load stored for one source, counted where they landed, so that
-- tasks/analytics/run.py can check read = valid + rejected + malformed before committing.
-- params: %(load_id)s, %(entity)s.
select count(*) as rows_rejected
from meta.rejected_rows
where load_id = %(load_id)s
    and entity = %(entity)s
