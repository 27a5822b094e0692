-- scd_plan: what today's snapshot (`incoming`) does to each business key of {dim}, decided once
-- before anything is written. grain: one row per key that needs a write.
-- params: %(run_date)s; %(invalidate)s, true when absence from the snapshot means deletion.
-- identifiers {dim}, {key}, {sk}, {cur_attrs}, {new_attrs} come from tasks/warehouse/merge.py.
-- A rerun of a day replaces that day's earlier effect. "before" is the version that was current
-- before any run of run_date: the one closed today, else the current one if opened earlier.
-- "today" is a current version an earlier run of run_date opened: kept and corrected in place,
-- or removed; never closed on the day it opened (no zero-length interval).
-- One merge of {dim} at a time (readers are not blocked): the plan and the numbering of new
-- surrogate keys in scd_apply.sql must see every committed version.
lock table {dim} in share row exclusive mode;
drop table if exists pg_temp.scd_plan;
create temp table scd_plan on commit drop as
with current_rows as (
    select * from {dim} where is_current and {sk} <> -1
),
closed_today as (
    select {key}, {sk}, row_hash, is_deleted
    from {dim}
    where valid_to = %(run_date)s and {sk} <> -1
),
keys as (
    select
        {key},
        i.{key} is not null as in_snapshot,
        i.row_hash as new_hash,
        case when cur.loaded_date = %(run_date)s then cur.{sk} end as today_sk,
        ({cur_attrs}) is distinct from ({new_attrs}) as today_differs,
        coalesce(c.{sk}, case when cur.loaded_date < %(run_date)s then cur.{sk} end) as before_sk,
        coalesce(c.row_hash, case when cur.loaded_date < %(run_date)s then cur.row_hash end)
            as before_hash,
        case
            when c.is_deleted then 'deleted'
            when c.{sk} is not null then 'closed'
            when cur.loaded_date < %(run_date)s then 'open'
        end as before_state
    from incoming as i
    full join current_rows as cur using ({key})
    full join closed_today as c using ({key})
),
decided as (
    select
        *,
        in_snapshot and (before_sk is null or before_hash <> new_hash) as opens,
        case
            when before_sk is null then null
            when in_snapshot and before_hash = new_hash then 'open'
            when in_snapshot then 'closed'
            when %(invalidate)s then 'deleted'
            else 'open'
        end as before_fate
    from keys
)
select
    {key},
    in_snapshot,
    today_sk,
    today_sk is not null and not opens as remove_today,
    today_sk is not null and opens and today_differs as correct_today,
    opens and today_sk is null as open_new,
    case
        when not opens or today_sk is not null then null
        when before_sk is not null then %(run_date)s::date
        when exists (select 1 from {dim} as v where v.{key} = d.{key}) then %(run_date)s::date
        else date '1900-01-01'
    end as valid_from,
    before_sk,
    before_state,
    before_fate
from decided as d
where (today_sk is not null and (not opens or today_differs))
    or (opens and today_sk is null)
    or before_fate is distinct from before_state;
