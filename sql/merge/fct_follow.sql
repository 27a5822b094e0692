-- fct_follow: one row per (student_id, subject_id); followed_at is when it started.
-- params: none. Points at the student and subject versions valid on the follow day (the
-- current ones when the date is missing), -1 until they arrive. Idempotent.
with typed as (
    select distinct on (student_id, subject_id)
        btrim(student_id) as student_id,
        meta.to_int_or_null(subject_id) as subject_id,
        meta.to_timestamp_or_null(follow_date) as followed_at
    from stage.student_follow_subject
    where nullif(btrim(student_id), '') is not null
        and meta.to_int_or_null(subject_id) is not null
    order by student_id, subject_id, source_row desc
),
dated as (
    select *, coalesce(followed_at::date, current_date) as as_of from typed
)
insert into dw.fct_follow as f (
    student_id, subject_id, followed_at, student_key, subject_key, date_key
)
select
    t.student_id,
    t.subject_id,
    t.followed_at,
    coalesce(s.student_key, -1),
    coalesce(j.subject_key, -1),
    coalesce(d.date_key, -1)
from dated as t
left join dw.dim_student as s
    on s.student_id = t.student_id and t.as_of >= s.valid_from and t.as_of < s.valid_to
left join dw.dim_subject as j
    on j.subject_id = t.subject_id and t.as_of >= j.valid_from and t.as_of < j.valid_to
left join dw.dim_date as d on d.full_date = t.followed_at::date
on conflict (student_id, subject_id) do update
set followed_at = excluded.followed_at,
    student_key = excluded.student_key,
    subject_key = excluded.subject_key,
    date_key = excluded.date_key
where (f.followed_at, f.student_key, f.subject_key, f.date_key)
    is distinct from
    (excluded.followed_at, excluded.student_key, excluded.subject_key, excluded.date_key);
