-- The run dates of a range that have a committed load: the manifest records files taken for
-- them. params: %(first)s, %(last)s (both included). One row per day.
select distinct run_date
from meta.ingested_files
where run_date between %(first)s and %(last)s
order by run_date
