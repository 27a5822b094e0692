-- dim_client, dim_plan, dim_date: reference dimensions, insert-only (no history to keep).
-- grain: one row per client name / plan type / calendar day. params: none.
insert into dw.dim_client (client_name)
select distinct btrim(student_client)
from stage.sessions
where nullif(btrim(student_client), '') is not null
on conflict (client_name) do nothing;

insert into dw.dim_plan (plan_type)
select distinct btrim(plan_type)
from stage.subscriptions
where nullif(btrim(plan_type), '') is not null
on conflict (plan_type) do nothing;

with fact_days as (
    select meta.to_timestamp_or_null(session_start_time)::date as day from stage.sessions
    union
    select meta.to_timestamp_or_null(payment_date)::date from stage.subscriptions
    union
    select meta.to_timestamp_or_null(follow_date)::date from stage.student_follow_subject
),
bounds as (
    select min(day) as first_day, max(day) as last_day from fact_days
)
insert into dw.dim_date (date_key, full_date, year, month, day, day_of_week)
select
    to_char(d, 'YYYYMMDD')::integer,
    d::date,
    extract(year from d)::smallint,
    extract(month from d)::smallint,
    extract(day from d)::smallint,
    extract(isodow from d)::smallint
from bounds, generate_series(first_day, last_day, interval '1 day') as d
on conflict (date_key) do nothing;
