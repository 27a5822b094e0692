-- The latest recorded version of each file of a zone under a prefix (a day's folder).
-- params: %(zone)s, %(prefix)s (e.g. '2017-11-16/'). Returns path, size_bytes, checksum, load_id.
select distinct on (m.path) m.path, m.size_bytes, m.checksum, m.load_id
from meta.ingested_files as m
where m.zone = %(zone)s
    and left(m.path, length(%(prefix)s)) = %(prefix)s
order by m.path, m.ingest_id desc
