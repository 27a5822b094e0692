-- move: the landing rows the split left, into the source's stage table with their lineage.
-- grain: one row per loaded record. params: %(source_file)s, %(load_id)s. identifiers
-- {stage_table}, {landing} and {columns} (the source's stage columns) from tasks/stage/land.py.
insert into {stage_table} ({columns}, source_file, source_row, load_id)
select
    {columns},
    %(source_file)s,
    source_row,
    %(load_id)s
from {landing}
