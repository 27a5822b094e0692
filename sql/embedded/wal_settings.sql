-- wal_settings: the WAL level the embedded server runs with, and the one its configuration
-- files give it at the next start. grain: one row. Read by tasks/resources/postgres.py.
select
    current_setting('wal_level') as running,
    (select setting from pg_file_settings
     where name = 'wal_level' and error is null
     order by seqno desc limit 1) as configured
