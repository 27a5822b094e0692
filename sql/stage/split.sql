-- split: the landing rows the suite's critical expectations reject, each with the expectations
-- it failed; sql/stage/split_remove.sql then takes them out by their ctid. grain: one row per
-- rejected row. identifiers: {landing}; {flagged}, the critical expectations' conditions joined
-- by `or`, and {failed}, a bigint with bit i set when the i-th condition holds, are composed by
-- tasks/quality/split.py from the suite, values bound. A SELECT, not a DELETE: PostgreSQL runs
-- it with parallel workers (its conditions, regular expressions among them, are judged on every
-- row), which it never does for a statement that writes.
select
    ctid::text as tid,
    source_row,
    {failed} as failed
from {landing}
where {flagged}
