-- dim_client, dim_plan, dim_date: reference dimensions, insert-only (no history to keep).
-- grain: one row per client name / plan type / calendar day. params: %(run_date)s, recorded as
-- the loaded_date of new clients and plans (a rewind removes those of the days it undoes). Names
-- exactly as exported; a missing or blank one is the unknown member's ('unknown').
-- New keys are numbered after the largest one, in name order, not drawn from the identity
-- sequence: a sequence is not rolled back (nor spared by `on conflict do nothing`), so a killed
-- or repeated merge would otherwise give the next new value another key than an undisturbed run.
lock table dw.dim_client, dw.dim_plan in share row exclusive mode;

with incoming as (
    select distinct student_client as client_name
    from stage.sessions
    where meta.value_or_unknown(student_client) <> 'unknown'
),
new_clients as (
    select client_name from incoming
    except
    select client_name from dw.dim_client
)
insert into dw.dim_client (client_key, client_name, loaded_date)
select
    greatest((select max(client_key) from dw.dim_client), 0)
        + row_number() over (order by client_name collate "C"),
    client_name,
    %(run_date)s
from new_clients;

with incoming as (
    select distinct plan_type
    from stage.subscriptions
    where meta.value_or_unknown(plan_type) <> 'unknown'
),
new_plans as (
    select plan_type from incoming
    except
    select plan_type from dw.dim_plan
)
insert into dw.dim_plan (plan_key, plan_type, loaded_date)
select
    greatest((select max(plan_key) from dw.dim_plan), 0)
        + row_number() over (order by plan_type collate "C"),
    plan_type,
    %(run_date)s
from new_plans;

-- inserts that rely on the identity default must not collide with the keys numbered above
do $$
begin
    perform setval(pg_get_serial_sequence('dw.dim_client', 'client_key'),
                   greatest((select max(client_key) from dw.dim_client), 1));
    perform setval(pg_get_serial_sequence('dw.dim_plan', 'plan_key'),
                   greatest((select max(plan_key) from dw.dim_plan), 1));
end
$$;

-- the calendar spans the facts' first and last days. Each fact's date prefix is read once per
-- distinct value (a hash aggregate, then about a thousand texts parsed): parsing every timestamp
-- was most of this step (two million rows at scale 1). A value whose time is unreadable still
-- names its day, so the span may hold a day no fact points at, never miss one a fact does.
with prefixes as (
    select left(btrim(session_start_time), 10) as prefix from stage.sessions
    union
    select left(btrim(payment_date), 10) from stage.subscriptions
    union
    select left(btrim(follow_date), 10) from stage.student_follow_subject
),
bounds as (
    select
        min(meta.to_timestamp_or_null(prefix))::date as first_day,
        max(meta.to_timestamp_or_null(prefix))::date as last_day
    from prefixes
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

-- the facts merged next join these: statistics of what was just written (see scd_apply.sql)
analyze dw.dim_client, dw.dim_plan, dw.dim_date;
