-- rewind, part 1: what loads on or after %(from_day)s wrote to the facts and the insert-only
-- reference dimensions, and the record of those days as loaded. params: %(from_day)s.
-- Run by tasks/warehouse/history.py in one transaction with scd_rewind.sql for every type-2
-- dimension, before a day is merged: loading a day always starts from the warehouse as it was
-- before that day (for a new latest day nothing matches). Rows of loads before migration 0027
-- (loaded_date null) are never removed. dim_date is insert-only by calendar day: kept.
-- Facts first: the dimension versions removed next then have fewer facts to release.
lock table dw.fct_session, dw.fct_subscription, dw.fct_follow, dw.dim_client, dw.dim_plan
    in share row exclusive mode;

delete from dw.fct_session where loaded_date >= %(from_day)s;

delete from dw.fct_subscription where loaded_date >= %(from_day)s;

delete from dw.fct_follow where loaded_date >= %(from_day)s;

-- clients and plans first seen on or after the day: numbered again, in name order, by the
-- loads that bring them back (dim_reference.sql)
delete from dw.dim_client where loaded_date >= %(from_day)s;

delete from dw.dim_plan where loaded_date >= %(from_day)s;

delete from meta.warehouse_days where run_date >= %(from_day)s;
