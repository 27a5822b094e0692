-- One manifest row: a version of a lake file the load took. Run after the load's merges commit.
-- params: zone, path, source, size_bytes, checksum, load_id, run_date.
-- Rerun-safe: a retried recording of the same load replaces its own row.
insert into meta.ingested_files (zone, path, source, size_bytes, checksum, load_id, run_date)
values (
    %(zone)s, %(path)s, %(source)s, %(size_bytes)s, %(checksum)s, %(load_id)s, %(run_date)s
)
on conflict (zone, path, load_id) do update
set source = excluded.source,
    size_bytes = excluded.size_bytes,
    checksum = excluded.checksum,
    run_date = excluded.run_date,
    ingested_at = now()
