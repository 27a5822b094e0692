-- accepted_days: the days a run published although a guard failed, because an operator
-- accepted them (PDBI_ACCEPT_DAYS; tasks/warehouse/guards.py records every decision in
-- meta.guard_decisions). The Data quality page lists them with the figures that failed.
-- grain: one row per (run_date, guard, source_file), its latest accepted decision; newest day
-- first. params: %(limit)s. Read in a read-only transaction.
select distinct on (run_date, guard, source_file)
    run_date,
    guard,
    source_file,
    message,
    figures,
    decided_at
from meta.guard_decisions
where decision = 'accepted'
order by run_date desc, guard, source_file, decided_at desc
limit %(limit)s
