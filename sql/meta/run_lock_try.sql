-- Try to take the run lock of one run date for this session, without waiting.
-- params: %(namespace)s (pdbi's lock class), %(day)s (the run date as days since 2000-01-01).
-- Returns true when taken; the lock lasts until pg_advisory_unlock or the session ends.
select pg_try_advisory_lock(%(namespace)s::int4, %(day)s::int4) as taken
