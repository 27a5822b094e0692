-- Who holds the run lock of one run date: the session of the other run, for the message.
-- params: %(namespace)s, %(day)s as in run_lock_try.sql. Returns at most one row.
with lock_holder as (
    select l.pid
    from pg_locks as l
    where l.locktype = 'advisory'
        and l.granted
        and l.classid::bigint = %(namespace)s::bigint
        and l.objid::bigint = %(day)s::bigint
        and l.objsubid = 2
        and l.database = (select oid from pg_database where datname = current_database())
)
select
    h.pid,
    a.application_name,
    a.client_addr::text as client_addr,
    a.backend_start
from lock_holder as h
left join pg_stat_activity as a on a.pid = h.pid
limit 1
