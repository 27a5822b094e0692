-- scan_costs: the planner's costs of parallel query in this transaction, to be restored by
-- sql/stage/set_scan_costs.sql.
select
    current_setting('parallel_setup_cost') as setup,
    current_setting('parallel_tuple_cost') as per_tuple
