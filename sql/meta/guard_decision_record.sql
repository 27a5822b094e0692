-- meta.guard_decisions: one failed guard of a load, and what became of the run.
-- params: load_id, run_date, guard, source_file, decision, figures (jsonb), message.
insert into meta.guard_decisions (
    load_id, run_date, guard, source_file, decision, figures, message
)
values (
    %(load_id)s, %(run_date)s, %(guard)s, %(source_file)s, %(decision)s, %(figures)s, %(message)s
)
on conflict (load_id, guard, source_file) do update
set run_date = excluded.run_date,
    decision = excluded.decision,
    figures = excluded.figures,
    message = excluded.message,
    decided_at = now()
