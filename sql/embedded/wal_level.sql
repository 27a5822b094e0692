-- wal_level: the embedded server writes minimal WAL. It has no replica and no archive, so WAL
-- serves crash recovery only, and a table truncated in a transaction is then filled without
-- WAL and synced at commit: a stage load's move (sql/stage/move.sql) writes each row once,
-- not twice. Takes effect at the server's next start (tasks/resources/postgres.py).
alter system set wal_level = 'minimal'
