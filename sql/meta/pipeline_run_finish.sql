-- A run of daily-pipeline ended: its final state, counts (null when it failed before they
-- were known) and error. A row the preflight did not write (it failed first) is written whole.
-- Then any older run of the same day still marked Running is marked Crashed: runs of one day
-- never overlap (the run lock), so one this old that never finished was killed. A run that
-- was only waiting for the lock writes its own final state when it ends.
-- params: %(run_id)s, %(run_name)s, %(run_date)s, %(state)s, %(started_at)s, %(finished_at)s
-- (Prefect's times; null: now), %(rows_read)s, %(rows_loaded)s, %(rows_rejected)s, %(counts)s
-- (jsonb), %(error)s.
with finished as (
    insert into meta.pipeline_runs (
        run_id, run_name, run_date, state, started_at, finished_at,
        rows_read, rows_loaded, rows_rejected, counts, error
    )
    values (
        %(run_id)s, %(run_name)s, %(run_date)s, %(state)s,
        coalesce(%(started_at)s, now()), coalesce(%(finished_at)s, now()),
        %(rows_read)s, %(rows_loaded)s, %(rows_rejected)s, %(counts)s, %(error)s
    )
    on conflict (run_id) do update
    set state = excluded.state,
        finished_at = excluded.finished_at,
        rows_read = excluded.rows_read,
        rows_loaded = excluded.rows_loaded,
        rows_rejected = excluded.rows_rejected,
        counts = excluded.counts,
        error = excluded.error
    returning run_id, run_date, started_at
)
update meta.pipeline_runs as older
set state = 'Crashed',
    error = 'never finished: the process running it stopped',
    finished_at = null
from finished
where older.run_date = finished.run_date
    and older.run_id <> finished.run_id
    and older.state = 'Running'
    and older.started_at < finished.started_at
