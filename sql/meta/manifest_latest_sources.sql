-- The latest recorded version of each file of a zone under a prefix (a day's folder), with the
-- source it feeds. params: %(zone)s, %(prefix)s (e.g. '2017-11-16/').
-- Returns path, source, size_bytes, checksum.
select distinct on (m.path) m.path, m.source, m.size_bytes, m.checksum
from meta.ingested_files as m
where m.zone = %(zone)s
    and left(m.path, length(%(prefix)s)) = %(prefix)s
order by m.path, m.ingest_id desc
