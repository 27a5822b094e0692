-- fct_subscription: one row per payment. natural key: (student_id, payment_at, plan_type); a
-- payment without a (readable) date has none, and is identified instead by the day of the export
-- that reported it and its number among that export's undated payments of the same student and
-- plan: (student_id, plan_type, reported_on, reported_seq).
-- params: %(run_date)s. Points at the student version valid on the payment day (on run_date when
-- it has no date), -1 while there is none (late-arriving or deleted student); an undated
-- payment's date is the unknown one (-1). Idempotent on the natural key: a payment already
-- loaded is not written again; its student key is kept right by the second statement.
-- Values as exported: the student id exactly, the plan or 'unknown' (meta.value_or_unknown).
-- loaded_date: the run date that first wrote the row (a rewind removes the rows of later days).
with parsed as (
    select
        student_id,
        meta.to_timestamp_or_null(payment_date) as payment_at,
        meta.value_or_unknown(plan_type) as plan_type,
        source_row
    from stage.subscriptions
    offset 0  -- a fence: each value is parsed once per row, not once per use
),
numbered as (
    -- an undated payment's number; in one sort with the distinct below (same leading keys)
    select
        *,
        case when payment_at is null then %(run_date)s::date end as reported_on,
        case when payment_at is null then row_number() over (
            partition by student_id, plan_type, payment_at order by source_row
        ) end::integer as reported_seq,
        coalesce(payment_at::date, %(run_date)s) as as_of
    from parsed
),
keyed as (
    select distinct on (p.student_id, p.plan_type, p.payment_at, p.reported_seq)
        p.student_id,
        p.payment_at,
        p.plan_type,
        coalesce(s.student_key, -1) as student_key,
        coalesce(l.plan_key, -1) as plan_key,
        coalesce(d.date_key, -1) as date_key,
        p.reported_on,
        p.reported_seq
    from numbered as p
    left join dw.dim_student as s
        on s.student_id = p.student_id and p.as_of >= s.valid_from and p.as_of < s.valid_to
    left join dw.dim_plan as l on l.plan_type = p.plan_type
    left join dw.dim_date as d on d.full_date = p.payment_at::date
    where p.student_id is not null
    order by p.student_id, p.plan_type, p.payment_at, p.reported_seq, p.source_row desc
)
insert into dw.fct_subscription (
    student_id, payment_at, plan_type, student_key, plan_key, date_key, reported_on, reported_seq,
    loaded_date
)
select k.*, %(run_date)s::date
from keyed as k
where not exists (
    select 1
    from dw.fct_subscription as f
    where k.payment_at is not null
        and (f.student_id, f.payment_at, f.plan_type) = (k.student_id, k.payment_at, k.plan_type)
)
and not exists (
    select 1
    from dw.fct_subscription as f
    where k.payment_at is null
        and f.payment_at is null
        and (f.student_id, f.plan_type, f.reported_on, f.reported_seq)
        = (k.student_id, k.plan_type, k.reported_on, k.reported_seq)
);

-- repointed: payments still at the unknown member, or at a student version closed today (today's
-- stage and earlier loads alike), take the version valid on their day (an undated payment's: the
-- day that reported it) now.
with stale as (
    select student_id, payment_at, plan_type, reported_on, reported_seq, student_key
    from dw.fct_subscription
    where student_key = -1
    union all
    select
        f.student_id, f.payment_at, f.plan_type, f.reported_on, f.reported_seq, f.student_key
    from dw.fct_subscription as f
    join dw.dim_student as closed using (student_key)
    where closed.valid_to = %(run_date)s
),
valid as (
    select st.*, coalesce(s.student_key, -1) as key
    from stale as st
    left join dw.dim_student as s
        on s.student_id = st.student_id
        and coalesce(st.payment_at::date, st.reported_on) >= s.valid_from
        and coalesce(st.payment_at::date, st.reported_on) < s.valid_to
    where coalesce(s.student_key, -1) <> st.student_key
)
update dw.fct_subscription as f
set student_key = v.key
from valid as v
where (f.student_id, f.plan_type) = (v.student_id, v.plan_type)
    and f.payment_at is not distinct from v.payment_at
    and f.reported_on is not distinct from v.reported_on
    and f.reported_seq is not distinct from v.reported_seq;

-- statistics of what was just written, for the next day's merge (a replay loads days back to
-- back, before autovacuum would look); see scd_apply.sql
analyze dw.fct_subscription;
