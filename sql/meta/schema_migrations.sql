-- meta.schema_migrations: one row per applied migration file. key: version (the file name).
-- Created before any migration runs, so the runner can record the first one.
create schema if not exists meta;
create table if not exists meta.schema_migrations (
    version text primary key,
    checksum text not null,
    applied_at timestamptz not null default now()
);
