-- fct_subscription: one row per payment. natural key: (student_id, payment_at, plan_type).
-- params: none. Points at the student version valid on the payment day, -1 until it arrives.
-- Idempotent: a rerun updates nothing.
with typed as (
    select distinct on (student_id, payment_at, plan_type)
        btrim(student_id) as student_id,
        meta.to_timestamp_or_null(payment_date) as payment_at,
        coalesce(nullif(btrim(plan_type), ''), 'unknown') as plan_type
    from stage.subscriptions
    where nullif(btrim(student_id), '') is not null
        and meta.to_timestamp_or_null(payment_date) is not null
    order by student_id, payment_at, plan_type, source_row desc
)
insert into dw.fct_subscription as f (
    student_id, payment_at, plan_type, student_key, plan_key, date_key
)
select
    t.student_id,
    t.payment_at,
    t.plan_type,
    coalesce(s.student_key, -1),
    coalesce(p.plan_key, -1),
    coalesce(d.date_key, -1)
from typed as t
left join dw.dim_student as s
    on s.student_id = t.student_id
    and t.payment_at::date >= s.valid_from
    and t.payment_at::date < s.valid_to
left join dw.dim_plan as p on p.plan_type = t.plan_type
left join dw.dim_date as d on d.full_date = t.payment_at::date
on conflict (student_id, payment_at, plan_type) do update
set student_key = excluded.student_key,
    plan_key = excluded.plan_key,
    date_key = excluded.date_key
where (f.student_key, f.plan_key, f.date_key)
    is distinct from (excluded.student_key, excluded.plan_key, excluded.date_key);
