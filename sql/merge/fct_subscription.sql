-- fct_subscription: one row per payment. natural key: (student_id, payment_at, plan_type).
-- params: %(run_date)s. Points at the student version valid on the payment day, -1 while there
-- is none (late-arriving or deleted student). Idempotent on the natural key: a payment already
-- loaded is not written again; its student key is kept right by the second statement.
-- loaded_date: the run date that first wrote the row (a rewind removes the rows of later days).
with parsed as (
    select
        btrim(student_id) as student_id,
        meta.to_timestamp_or_null(payment_date) as payment_at,
        coalesce(nullif(btrim(plan_type), ''), 'unknown') as plan_type,
        source_row
    from stage.subscriptions
    offset 0  -- a fence: each value is parsed once per row, not once per use
),
keyed as (
    select distinct on (p.student_id, p.payment_at, p.plan_type)
        p.student_id,
        p.payment_at,
        p.plan_type,
        coalesce(s.student_key, -1) as student_key,
        coalesce(l.plan_key, -1) as plan_key,
        coalesce(d.date_key, -1) as date_key
    from parsed as p
    left join dw.dim_student as s
        on s.student_id = p.student_id
        and p.payment_at::date >= s.valid_from
        and p.payment_at::date < s.valid_to
    left join dw.dim_plan as l on l.plan_type = p.plan_type
    left join dw.dim_date as d on d.full_date = p.payment_at::date
    where p.student_id <> '' and p.payment_at is not null
    order by p.student_id, p.payment_at, p.plan_type, p.source_row desc
)
insert into dw.fct_subscription (
    student_id, payment_at, plan_type, student_key, plan_key, date_key, loaded_date
)
select k.*, %(run_date)s::date
from keyed as k
where not exists (
    select 1
    from dw.fct_subscription as f
    where (f.student_id, f.payment_at, f.plan_type) = (k.student_id, k.payment_at, k.plan_type)
);

-- repointed: payments still at the unknown member, or at a student version closed today (today's
-- stage and earlier loads alike), take the version valid on their day now.
with stale as (
    select student_id, payment_at, plan_type, student_key
    from dw.fct_subscription
    where student_key = -1
    union all
    select f.student_id, f.payment_at, f.plan_type, f.student_key
    from dw.fct_subscription as f
    join dw.dim_student as closed using (student_key)
    where closed.valid_to = %(run_date)s
),
valid as (
    select st.student_id, st.payment_at, st.plan_type, coalesce(s.student_key, -1) as key
    from stale as st
    left join dw.dim_student as s
        on s.student_id = st.student_id
        and st.payment_at::date >= s.valid_from
        and st.payment_at::date < s.valid_to
    where coalesce(s.student_key, -1) <> st.student_key
)
update dw.fct_subscription as f
set student_key = v.key
from valid as v
where (f.student_id, f.payment_at, f.plan_type) = (v.student_id, v.payment_at, v.plan_type);
