-- fct_follow: one row per (student_id, subject_id); followed_at is when it started.
-- params: %(run_date)s. Points at the student and subject versions valid on the follow day (on
-- run_date when the date is missing), -1 while there is none. Idempotent. loaded_date: the run
-- date that first wrote the row (a rewind removes the rows of later days; an update keeps it).
-- The student id exactly as exported; the subject id the integer it spells
-- (meta.to_int_or_null), so '12' and 12.0 are one follow (the last record wins, as for any
-- repeated follow).
with parsed as (
    select
        student_id,
        meta.to_int_or_null(subject_id) as subject_id,
        meta.to_timestamp_or_null(follow_date) as followed_at,
        source_row
    from stage.student_follow_subject
    offset 0  -- a fence: each value is parsed once per row, not once per use
),
dated as (
    select *, coalesce(followed_at::date, %(run_date)s) as as_of from parsed
),
keyed as (
    select distinct on (p.student_id, p.subject_id)
        p.student_id,
        p.subject_id,
        p.followed_at,
        coalesce(s.student_key, -1) as student_key,
        coalesce(j.subject_key, -1) as subject_key,
        coalesce(d.date_key, -1) as date_key
    from dated as p
    left join dw.dim_student as s
        on s.student_id = p.student_id and p.as_of >= s.valid_from and p.as_of < s.valid_to
    left join dw.dim_subject as j
        on j.subject_id = p.subject_id and p.as_of >= j.valid_from and p.as_of < j.valid_to
    left join dw.dim_date as d on d.full_date = p.followed_at::date
    where p.student_id is not null and p.subject_id is not null
    order by p.student_id, p.subject_id, p.source_row desc
)
-- MERGE, not `insert ... on conflict do update`: a join with the table instead of a speculative
-- insertion per row (at scale 1, about a million new rows, 2 s less); the run lock makes this
-- the warehouse's only writer. Its row count is the rows written, new or changed, as before.
merge into dw.fct_follow as f
using keyed as k
on (f.student_id, f.subject_id) = (k.student_id, k.subject_id)
when matched and (f.followed_at, f.student_key, f.subject_key, f.date_key)
    is distinct from (k.followed_at, k.student_key, k.subject_key, k.date_key) then
    update set
        followed_at = k.followed_at,
        student_key = k.student_key,
        subject_key = k.subject_key,
        date_key = k.date_key
when not matched then
    insert (student_id, subject_id, followed_at, student_key, subject_key, date_key, loaded_date)
    values (
        k.student_id, k.subject_id, k.followed_at, k.student_key, k.subject_key, k.date_key,
        %(run_date)s::date
    );

-- repointed: follows of earlier loads still at an unknown member, or at a version closed today,
-- take the student and subject versions valid on their day now.
with stale as (
    select student_id, subject_id from dw.fct_follow where student_key = -1 or subject_key = -1
    union
    select f.student_id, f.subject_id
    from dw.fct_follow as f
    join dw.dim_student as closed using (student_key)
    where closed.valid_to = %(run_date)s
    union
    select f.student_id, f.subject_id
    from dw.fct_follow as f
    join dw.dim_subject as closed using (subject_key)
    where closed.valid_to = %(run_date)s
),
valid as (
    select
        f.student_id,
        f.subject_id,
        coalesce(s.student_key, -1) as student_key,
        coalesce(j.subject_key, -1) as subject_key
    from stale
    join dw.fct_follow as f using (student_id, subject_id)
    left join dw.dim_student as s
        on s.student_id = f.student_id
        and coalesce(f.followed_at::date, %(run_date)s) >= s.valid_from
        and coalesce(f.followed_at::date, %(run_date)s) < s.valid_to
    left join dw.dim_subject as j
        on j.subject_id = f.subject_id
        and coalesce(f.followed_at::date, %(run_date)s) >= j.valid_from
        and coalesce(f.followed_at::date, %(run_date)s) < j.valid_to
    where (coalesce(s.student_key, -1), coalesce(j.subject_key, -1))
        <> (f.student_key, f.subject_key)
)
update dw.fct_follow as f
set student_key = v.student_key,
    subject_key = v.subject_key
from valid as v
where (f.student_id, f.subject_id) = (v.student_id, v.subject_id);

-- statistics of what was just written, for the next day's merge (a replay loads days back to
-- back, before autovacuum would look); see scd_apply.sql
analyze dw.fct_follow;
