-- What each stage table holds: the files of the latest committed load of every source, from
-- meta.load_counts (written in the same transaction as the stage load). One row per file.
with latest as (
    select distinct on (c.entity) c.entity, c.load_id
    from meta.load_counts as c
    order by c.entity, c.loaded_at desc
)
select c.entity, c.source_file
from meta.load_counts as c
join latest as l on l.entity = c.entity and l.load_id = c.load_id
order by c.entity, c.source_file
