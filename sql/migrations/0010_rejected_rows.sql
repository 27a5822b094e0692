-- meta.rejected_rows: the quarantine in the warehouse. grain: one row per rejected source row of
-- a committed load. key: (load_id, source_file, source_row). The raw record is kept as JSON (a
-- line that was not JSON as a JSON string; a NUL byte as the text \u0000, which jsonb cannot
-- hold); the lake's quarantine/<day>/<entity>.jsonl keeps the exact bytes.
create table meta.rejected_rows (
    load_id text not null,
    run_date date not null,
    entity text not null,
    source_file text not null,
    source_row bigint not null,
    failed_expectations text[] not null check (cardinality(failed_expectations) > 0),
    record jsonb,
    rejected_at timestamptz not null default now(),
    primary key (load_id, source_file, source_row)
);
create index rejected_rows_by_day on meta.rejected_rows (run_date, entity);
