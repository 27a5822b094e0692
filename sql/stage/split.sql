-- split: the landing rows the suite's critical expectations reject leave the landing table,
-- each with the expectations it failed (the rest move to stage, sql/stage/move.sql).
-- grain: one row per rejected row. identifiers: {landing}; {flagged}, the critical
-- expectations' conditions joined by `or`, and {reasons}, one `case when <condition> then
-- <label> end` each, are composed by tasks/quality/split.py from the suite, values bound.
delete from {landing}
where {flagged}
returning
    source_row,
    array_remove(array[{reasons}]::text[], null) as failed_expectations
