-- landing: one file's rows as text, before its suite has judged them. grain: one row per landed
-- record of the file; key: source_row. A temporary table: no WAL (as UNLOGGED), private to the
-- load's session, dropped when the load's transaction ends; emptied for each file of a source.
-- identifiers {landing} and {columns} (each stage column of the source as text) come from
-- tasks/stage/land.py. params: none.
create temp table if not exists {landing} ({columns}, source_row bigint not null)
    on commit drop;
truncate {landing};
