-- split_remove: the rows sql/stage/split.sql found leave the landing table, fetched by their
-- ctid (a TID scan: no pass over the table; nothing changes a landing row between the two
-- statements, so the ctids still name them). params: %(tids)s, the ctids as text.
delete from {landing}
where ctid = any(%(tids)s::text[]::tid[])
