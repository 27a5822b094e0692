-- fct_session: one row per session. natural key: (student_id, session_start_at, client_name).
-- params: none. Each row points at the student version valid on the session's day and at the
-- unknown member (-1) when that student has not arrived yet; a later load re-points it.
-- Idempotent: a rerun updates nothing (the where clause skips unchanged rows).
with typed as (
    select distinct on (student_id, session_start_at, client_name)
        btrim(student_id) as student_id,
        meta.to_timestamp_or_null(session_start_time) as session_start_at,
        coalesce(nullif(btrim(student_client), ''), 'unknown') as client_name
    from stage.sessions
    where nullif(btrim(student_id), '') is not null
        and meta.to_timestamp_or_null(session_start_time) is not null
    order by student_id, session_start_at, client_name, source_row desc
)
insert into dw.fct_session as f (
    student_id, session_start_at, client_name, student_key, client_key, date_key
)
select
    t.student_id,
    t.session_start_at,
    t.client_name,
    coalesce(s.student_key, -1),
    coalesce(c.client_key, -1),
    coalesce(d.date_key, -1)
from typed as t
left join dw.dim_student as s
    on s.student_id = t.student_id
    and t.session_start_at::date >= s.valid_from
    and t.session_start_at::date < s.valid_to
left join dw.dim_client as c on c.client_name = t.client_name
left join dw.dim_date as d on d.full_date = t.session_start_at::date
on conflict (student_id, session_start_at, client_name) do update
set student_key = excluded.student_key,
    client_key = excluded.client_key,
    date_key = excluded.date_key
where (f.student_key, f.client_key, f.date_key)
    is distinct from (excluded.student_key, excluded.client_key, excluded.date_key);
