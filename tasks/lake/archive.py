"""The archive of the exports each committed load took: temp/<day>/transactional/<file>.

A replay loads later days again from exactly the versions their loads took, whatever the
transactional zone holds by then (a file replaced, or cleaned away). The manifest
(`meta.ingested_files`) says which version that is; the archive keeps its bytes, as the raw
backup (backup.py) keeps the events'. Both are written once the run committed. Before a day is
replayed, `restore_archive` makes sure its archive holds every recorded version: a copy missing
(a day loaded before archives existed, a run killed before it archived) is taken from the
transactional zone when that still holds the recorded bytes; otherwise the replay stops with
the file named.
"""

from __future__ import annotations

from datetime import date

import psycopg
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from tasks.entities import ENTITIES
from tasks.errors import DataError
from tasks.lake.files import NewFiles
from tasks.resources import postgres
from tasks.resources.lake import Lake, get_lake
from tasks.retry import transient_retries

ZONE = "transactional"


def archive_path(source: str, path: str) -> tuple[str, str]:
    """(zone, name) of the archived copy of transactional/<day>/<file>."""
    day = path.split("/", 1)[0]
    entity = ENTITIES[source].archived()
    return entity.zone, f"{day}/{entity.file_name}"


def recorded_exports(conn: psycopg.Connection, day: date) -> dict[str, tuple[str, int, str]]:
    """Path -> (source, size, checksum) of the latest version of each export of the day taken."""
    params = {"zone": ZONE, "prefix": f"{day.isoformat()}/"}
    rows = postgres.fetch_all(conn, postgres.read_sql("meta/manifest_latest_sources.sql"), params)
    return {path: (source, size, checksum) for path, source, size, checksum in rows}


def _same(found: tuple[int, str], size: int, checksum: str) -> bool:
    """The recorded version? Checksums of two kinds (an MD5, an S3 ETag) compare by size."""
    same_kind = found[1].split(":", 1)[0] == checksum.split(":", 1)[0] == "md5"
    return found[0] == size and (found[1] == checksum or not same_kind)


def archive_day(conn: psycopg.Connection, lake: Lake, day: date, taken: set[str]) -> int:
    """Copy the exports this run took, and any recorded one whose copy is missing or of another
    size, from transactional/ to the archive, when the lake still holds the recorded bytes."""
    copied = 0
    for path, (source, size, checksum) in recorded_exports(conn, day).items():
        zone, name = archive_path(source, path)
        if path not in taken and lake.exists(zone, name) and lake.size(zone, name) == size:
            continue
        if lake.exists(ZONE, path) and _same(lake.fingerprint(ZONE, path), size, checksum):
            lake.copy("transactional", path, zone, name)
            copied += 1
    return copied


def restore_archive(conn: psycopg.Connection, lake: Lake, day: date) -> tuple[str, ...]:
    """Make the day's archive hold every export version its load took; returns their sources.
    Raises DataError naming a version neither the archive nor the lake holds any more."""
    recorded = recorded_exports(conn, day)
    missing = set(ENTITIES) - {source for source, _, _ in recorded.values()}
    if missing:
        raise DataError(
            f"the manifest records no {', '.join(sorted(missing))} export taken for {day}: the "
            "day cannot be loaded again from its archive; run it with its files in "
            f"{ZONE}/{day.isoformat()}/."
        )
    for path, (source, size, checksum) in recorded.items():
        zone, name = archive_path(source, path)
        if lake.exists(zone, name) and _same(lake.fingerprint(zone, name), size, checksum):
            continue
        if lake.exists(ZONE, path) and _same(lake.fingerprint(ZONE, path), size, checksum):
            lake.copy("transactional", path, zone, name)
            continue
        raise DataError(
            f"{zone}/{name}, the copy of {ZONE}/{path} that the load of {day} took ({size:,} "
            f"bytes, {checksum}), is missing or differs, and {ZONE}/{path} no longer holds that "
            f"version: {day} and the days after it cannot be loaded again. Put that version back "
            f"in either place, or run {day} with the export it should have."
        )
    return tuple(name for name in ENTITIES if name in {s for s, _, _ in recorded.values()})


@task(**transient_retries(), cache_policy=NO_CACHE)
def archive_exports(new_files: NewFiles) -> int:
    """After the run committed: the day's exports, as taken, into its archive."""
    taken = {f.path for f in new_files.files if f.zone == ZONE}
    with postgres.connect() as conn:
        copied = archive_day(conn, get_lake(), new_files.run_date, taken)
    if copied:
        get_run_logger().info(
            "archived %d exports in temp/%s/%s/", copied, new_files.run_date.isoformat(), ZONE
        )
    return copied


@task(**transient_retries(), cache_policy=NO_CACHE)
def ensure_archived(day: date) -> tuple[str, ...]:
    """Before a replay of the day: its archive complete (see restore_archive)."""
    with postgres.connect() as conn:
        return restore_archive(conn, get_lake(), day)
