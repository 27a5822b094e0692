-- Schemas and the small, pure helper functions the merges use to cast raw text safely.
-- stage: records as raw text; dw: the dimensional model; meta: runs, loads, manifest.
create schema if not exists stage;
create schema if not exists dw;
create schema if not exists meta;

-- Timestamps arrive as '2017-11-16 13:20:11.000', with four fractional digits, or as a date.
-- Anything else becomes null (the unknown member downstream) instead of failing the merge.
create or replace function meta.to_timestamp_or_null(raw text) returns timestamp
language sql immutable parallel safe as $$
    select case
        when btrim(raw) ~ '^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?$'
            then btrim(raw)::timestamp
    end
$$;

-- Ids arrive as numbers in one file and strings in another: '12', '12.0' and ' 12 ' are 12.
create or replace function meta.to_int_or_null(raw text) returns integer
language sql immutable parallel safe as $$
    select case
        when btrim(raw) ~ '^-?\d{1,9}(\.0*)?$' then split_part(btrim(raw), '.', 1)::integer
    end
$$;

create table meta.pipeline_runs (
    run_id text primary key,
    run_date date not null,
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    state text not null default 'running'
);

create table meta.load_counts (
    load_id text not null,
    run_date date not null,
    entity text not null,
    source_file text not null,
    rows_read bigint not null,
    rows_loaded bigint not null,
    rows_rejected bigint not null,
    loaded_at timestamptz not null default now(),
    primary key (load_id, entity, source_file),
    check (rows_read = rows_loaded + rows_rejected)
);
