-- The days of the warehouse: 'loaded' (meta.warehouse_days: dw holds their loads) and
-- 'pending' (the manifest records exports taken for them, but a rewind undid their load and no
-- replay has loaded them again yet). One row per day, in date order. params: none.
select run_date, 'loaded' as state
from meta.warehouse_days
union all
select distinct m.run_date, 'pending'
from meta.ingested_files as m
where m.zone = 'transactional'
    and not exists (select 1 from meta.warehouse_days as w where w.run_date = m.run_date)
order by run_date
