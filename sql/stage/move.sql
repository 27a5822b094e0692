-- move: the landing rows the split did not reject, into the source's stage table with their
-- lineage. grain: one row per loaded record. params: %(source_file)s, %(load_id)s and
-- %(rejected)s (the split's source_row values). identifiers {stage_table}, {landing} and
-- {columns} (the source's stage columns) from tasks/stage/land.py. `not exists` over the
-- unnested ids is a hash anti join, which spills to disk if it must; `source_row <> all(...)`
-- would compare each row with every id.
insert into {stage_table} ({columns}, source_file, source_row, load_id)
select
    {columns},
    %(source_file)s,
    l.source_row,
    %(load_id)s
from {landing} as l
where not exists (
    select from unnest(%(rejected)s::bigint[]) as r (source_row)
    where r.source_row = l.source_row
)
