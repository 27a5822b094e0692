-- fct_session: one row per session. natural key: (student_id, session_start_at, client_name).
-- params: %(run_date)s. Each row points at the student version valid on the session's day, or
-- at the unknown member (-1) while there is none (a late-arriving or deleted student).
-- Idempotent on the natural key: a session already loaded is not written again, and the fact
-- has no attribute besides its keys. Its student key is kept right by the second statement.
-- loaded_date: the run date that first wrote the row (a rewind removes the rows of later days).
with parsed as (
    select
        btrim(student_id) as student_id,
        meta.to_timestamp_or_null(session_start_time) as session_start_at,
        coalesce(nullif(btrim(student_client), ''), 'unknown') as client_name,
        source_row
    from stage.sessions
    offset 0  -- a fence: each value is parsed once per row, not once per use
),
keyed as (
    -- in natural-key order, so the insert walks the primary key index from left to right
    select distinct on (p.student_id, p.session_start_at, p.client_name)
        p.student_id,
        p.session_start_at,
        p.client_name,
        coalesce(s.student_key, -1) as student_key,
        coalesce(c.client_key, -1) as client_key,
        coalesce(d.date_key, -1) as date_key
    from parsed as p
    left join dw.dim_student as s
        on s.student_id = p.student_id
        and p.session_start_at::date >= s.valid_from
        and p.session_start_at::date < s.valid_to
    left join dw.dim_client as c on c.client_name = p.client_name
    left join dw.dim_date as d on d.full_date = p.session_start_at::date
    where p.student_id <> '' and p.session_start_at is not null
    order by p.student_id, p.session_start_at, p.client_name, p.source_row desc
)
insert into dw.fct_session (
    student_id, session_start_at, client_name, student_key, client_key, date_key, loaded_date
)
select k.*, %(run_date)s::date
from keyed as k
where not exists (
    select 1
    from dw.fct_session as f
    where (f.student_id, f.session_start_at, f.client_name)
        = (k.student_id, k.session_start_at, k.client_name)
);

-- repointed: sessions still at the unknown member, or at a student version closed today (today's
-- stage and earlier loads alike), take the version valid on their day now.
with stale as (
    select student_id, session_start_at, client_name, student_key
    from dw.fct_session
    where student_key = -1
    union all
    select f.student_id, f.session_start_at, f.client_name, f.student_key
    from dw.fct_session as f
    join dw.dim_student as closed using (student_key)
    where closed.valid_to = %(run_date)s
),
valid as (
    select st.student_id, st.session_start_at, st.client_name, coalesce(s.student_key, -1) as key
    from stale as st
    left join dw.dim_student as s
        on s.student_id = st.student_id
        and st.session_start_at::date >= s.valid_from
        and st.session_start_at::date < s.valid_to
    where coalesce(s.student_key, -1) <> st.student_key
)
update dw.fct_session as f
set student_key = v.key
from valid as v
where (f.student_id, f.session_start_at, f.client_name)
    = (v.student_id, v.session_start_at, v.client_name);
