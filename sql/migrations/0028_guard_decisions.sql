-- meta.guard_decisions: the checks a day must pass before its outputs are published, each time
-- one failed (tasks/warehouse/guards.py): whether the run stopped there, or went on because an
-- operator accepted the day (PDBI_ACCEPT_DAYS). The figures say why, for the dashboard and Data
-- Docs. grain: one row per (load, guard, source file); a retried load replaces its own rows.
create table meta.guard_decisions (
    load_id text not null,
    run_date date not null,
    guard text not null,
    source_file text not null,
    decision text not null check (decision in ('stopped', 'accepted')),
    figures jsonb not null,
    message text not null,
    decided_at timestamptz not null default now(),
    primary key (load_id, guard, source_file)
);
create index guard_decisions_by_day on meta.guard_decisions (run_date);
