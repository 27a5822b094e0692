-- scd_counts: what scd_apply.sql wrote, from the plan it followed. One row. params: none.
-- Counts are of rows written by this run; a same-day rerun reports its changes relative to the
-- earlier run of that day (mostly as corrected).
select
    count(*) filter (where open_new) as opened,
    count(*) filter (where before_fate = 'closed' and before_state <> 'closed') as closed,
    count(*) filter (where before_fate = 'deleted' and before_state <> 'deleted') as deleted,
    count(*) filter (where remove_today)
        + count(*) filter (where correct_today)
        + count(*) filter (where before_fate = 'open' and before_state <> 'open') as corrected,
    (select count(*) from incoming) - count(*) filter (where in_snapshot) as unchanged
from scd_plan;
