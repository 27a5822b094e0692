-- Replays: a day loaded after later days first rewinds the warehouse to before that day, then
-- loads it and every later day again, in date order (flows/warehouse.py, sql/merge/rewind.sql,
-- sql/merge/scd_rewind.sql). What a rewind needs besides the type-2 columns of 0006:
-- 1. loaded_date on the facts and on the insert-only reference dimensions (client, plan): the
--    run date of the load that first wrote the row, so that a rewind removes what days on or
--    after it wrote (keys numbered later would otherwise differ from loading in date order).
--    Rows written before this migration keep null: they count as loaded before every day, and
--    no rewind removes them.
-- 2. meta.warehouse_days: the days whose loads dw holds, one row per day, written once the
--    day's merges committed; a rewind deletes the rows of the days it undoes, in its own
--    transaction. A day the manifest (meta.ingested_files) records as taken and that has no row
--    here is pending: a replay left it (interrupted, or deferred by a backfill), and the next
--    run loads it again from its archived exports (temp/<day>/transactional/).
alter table dw.fct_session add column loaded_date date;
alter table dw.fct_subscription add column loaded_date date;
alter table dw.fct_follow add column loaded_date date;
alter table dw.dim_client add column loaded_date date;
alter table dw.dim_plan add column loaded_date date;

create table meta.warehouse_days (
    run_date date primary key,
    load_id text not null,
    loaded_at timestamptz not null default now()
);

-- the days loaded before this migration: every day the manifest records
insert into meta.warehouse_days (run_date, load_id)
select distinct on (run_date) run_date, load_id
from meta.ingested_files
order by run_date, ingest_id desc;
