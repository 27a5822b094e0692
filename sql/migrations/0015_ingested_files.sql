-- meta.ingested_files: the manifest of incremental extraction. One row per version of a lake file
-- the warehouse took: where it is (zone, path relative to the zone), its size and checksum
-- (Drive's md5Checksum, an S3 ETag, or an MD5 computed while streaming), the source it feeds,
-- the load (run) that first took that version, and when. key: ingest_id; a load records a file
-- once. A file is new when the latest row of its (zone, path) has another size or checksum, or
-- when there is none: reading the same bytes again adds no row.
create table meta.ingested_files (
    ingest_id bigint generated always as identity primary key,
    zone text not null,
    path text not null,
    source text not null,
    size_bytes bigint not null check (size_bytes >= 0),
    checksum text not null,
    load_id text not null,
    run_date date not null,
    ingested_at timestamptz not null default now(),
    unique (zone, path, load_id)
);

create index ingested_files_latest on meta.ingested_files (zone, path, ingest_id desc);
