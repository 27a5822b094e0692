-- Which of a day's lake files are new: never taken, or taken last with another size or checksum.
-- params: %(zones)s, %(paths)s, %(sizes)s, %(checksums)s: parallel arrays, one element per file.
-- Returns (zone, path) of the new ones.
with candidates as (
    select c.zone, c.path, c.size_bytes, c.checksum
    from unnest(
        %(zones)s::text[], %(paths)s::text[], %(sizes)s::bigint[], %(checksums)s::text[]
    ) as c (zone, path, size_bytes, checksum)
),
latest as (
    select distinct on (m.zone, m.path) m.zone, m.path, m.size_bytes, m.checksum
    from meta.ingested_files as m
    join candidates as c on c.zone = m.zone and c.path = m.path
    order by m.zone, m.path, m.ingest_id desc
)
select c.zone, c.path
from candidates as c
left join latest as l on l.zone = c.zone and l.path = c.path
where l.path is null
    or l.size_bytes <> c.size_bytes
    or l.checksum <> c.checksum
order by c.zone, c.path
