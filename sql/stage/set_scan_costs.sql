-- set_scan_costs: the planner's costs of parallel query until the transaction ends (or they are
-- set again). params: %(setup)s, %(per_tuple)s. Used around GX's scans of the landing table and
-- the split (tasks/stage/land.py `parallel_scans`):
-- without statistics of a table filled in this very transaction, the planner takes most rows to
-- match and their gathering to cost more than the parallel scan saves; few rows match.
select
    set_config('parallel_setup_cost', %(setup)s, true),
    set_config('parallel_tuple_cost', %(per_tuple)s, true)
