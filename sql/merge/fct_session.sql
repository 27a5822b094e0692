-- fct_session: one row per session. natural key: (student_id, session_start_at, client_name);
-- a session without a (readable) start time has none, and is identified instead by the day of
-- the export that reported it and its number among that export's undated sessions of the same
-- student and client: (student_id, client_name, reported_on, reported_seq).
-- params: %(run_date)s. Each row points at the student version valid on the session's day (on
-- run_date when it has no date), or at the unknown member (-1) while there is none (a
-- late-arriving or deleted student); an undated session's date is the unknown one (-1).
-- Idempotent on the natural key: a session already loaded is not written again, and the fact
-- has no attribute besides its keys. Its student key is kept right by the second statement.
-- Values as exported: the student id exactly, the client or 'unknown' (meta.value_or_unknown).
-- loaded_date: the run date that first wrote the row (a rewind removes the rows of later days).
with parsed as (
    select
        student_id,
        meta.to_timestamp_or_null(session_start_time) as session_start_at,
        meta.value_or_unknown(student_client) as client_name,
        source_row
    from stage.sessions
    offset 0  -- a fence: each value is parsed once per row, not once per use
),
numbered as (
    -- an undated session's number; in one sort with the distinct below (same leading keys)
    select
        *,
        case when session_start_at is null then %(run_date)s::date end as reported_on,
        case when session_start_at is null then row_number() over (
            partition by student_id, client_name, session_start_at order by source_row
        ) end::integer as reported_seq,
        coalesce(session_start_at::date, %(run_date)s) as as_of
    from parsed
),
keyed as (
    select distinct on (p.student_id, p.client_name, p.session_start_at, p.reported_seq)
        p.student_id,
        p.session_start_at,
        p.client_name,
        coalesce(s.student_key, -1) as student_key,
        coalesce(c.client_key, -1) as client_key,
        coalesce(d.date_key, -1) as date_key,
        p.reported_on,
        p.reported_seq
    from numbered as p
    left join dw.dim_student as s
        on s.student_id = p.student_id and p.as_of >= s.valid_from and p.as_of < s.valid_to
    left join dw.dim_client as c on c.client_name = p.client_name
    left join dw.dim_date as d on d.full_date = p.session_start_at::date
    where p.student_id is not null
    order by p.student_id, p.client_name, p.session_start_at, p.reported_seq, p.source_row desc
)
insert into dw.fct_session (
    student_id, session_start_at, client_name, student_key, client_key, date_key,
    reported_on, reported_seq, loaded_date
)
select k.*, %(run_date)s::date
from keyed as k
where not exists (
    select 1
    from dw.fct_session as f
    where k.session_start_at is not null
        and (f.student_id, f.session_start_at, f.client_name)
        = (k.student_id, k.session_start_at, k.client_name)
)
and not exists (
    select 1
    from dw.fct_session as f
    where k.session_start_at is null
        and f.session_start_at is null
        and (f.student_id, f.client_name, f.reported_on, f.reported_seq)
        = (k.student_id, k.client_name, k.reported_on, k.reported_seq)
);

-- repointed: sessions still at the unknown member, or at a student version closed today (today's
-- stage and earlier loads alike), take the version valid on their day (an undated session's:
-- the day that reported it) now.
with stale as (
    select student_id, session_start_at, client_name, reported_on, reported_seq, student_key
    from dw.fct_session
    where student_key = -1
    union all
    select
        f.student_id, f.session_start_at, f.client_name, f.reported_on, f.reported_seq,
        f.student_key
    from dw.fct_session as f
    join dw.dim_student as closed using (student_key)
    where closed.valid_to = %(run_date)s
),
valid as (
    select st.*, coalesce(s.student_key, -1) as key
    from stale as st
    left join dw.dim_student as s
        on s.student_id = st.student_id
        and coalesce(st.session_start_at::date, st.reported_on) >= s.valid_from
        and coalesce(st.session_start_at::date, st.reported_on) < s.valid_to
    where coalesce(s.student_key, -1) <> st.student_key
)
update dw.fct_session as f
set student_key = v.key
from valid as v
where (f.student_id, f.client_name) = (v.student_id, v.client_name)
    and f.session_start_at is not distinct from v.session_start_at
    and f.reported_on is not distinct from v.reported_on
    and f.reported_seq is not distinct from v.reported_seq;

-- statistics of what was just written, for the next day's merge (a replay loads days back to
-- back, before autovacuum would look); see scd_apply.sql
analyze dw.fct_session;
