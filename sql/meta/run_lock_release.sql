-- Release the run lock of one run date held by this session.
-- params: %(namespace)s, %(day)s as in run_lock_try.sql.
select pg_advisory_unlock(%(namespace)s::int4, %(day)s::int4) as released
