"""The daily backup of raw files to temp/<day>/raw/, and (a setting) their removal from raw/.

Only files the manifest records are copied or removed, and the manifest is written after the
warehouse commits: nothing leaves raw/ before a committed run took it. A file is removed only once
its backup exists and it still holds the recorded bytes (a part rewritten since stays). With
PDBI_LAKE_REMOVE_RAW on, running a day again first restores its removed part files from the
backup, so stage and Spark see the whole day, never the newest part alone.

The copy runs beside the Spark job (the warehouse has committed by then, and Spark only reads
raw/); the removal waits until the day is published.
"""

from __future__ import annotations

import logging
from datetime import date

import psycopg
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from tasks.lake.files import NewFiles
from tasks.resources import postgres
from tasks.resources.lake import Lake, get_lake
from tasks.retry import transient_retries
from tasks.settings import get_settings

logger = logging.getLogger(__name__)


def backup_name(path: str) -> str:
    """raw/<day>/<file> is backed up as temp/<day>/raw/<file>."""
    day, name = path.split("/", 1)
    return f"{day}/raw/{name}"


def recorded_raw(conn: psycopg.Connection, run_date: date) -> dict[str, tuple[int, str]]:
    """Path -> (size, checksum) of the latest version of each raw file of the day taken."""
    params = {"zone": "raw", "prefix": f"{run_date.isoformat()}/"}
    rows = postgres.fetch_all(conn, postgres.read_sql("meta/manifest_latest.sql"), params)
    return {path: (size, checksum) for path, size, checksum, _ in rows}


def copy_raw_backups(conn: psycopg.Connection, lake: Lake, run_date: date, taken: set[str]) -> int:
    """Copy the raw files this run took (and any recorded one whose backup is missing) to
    temp/<day>/raw/; returns how many were copied."""
    day = run_date.isoformat()
    recorded = recorded_raw(conn, run_date)
    present = lake.sizes("raw", f"{day}/*")
    backups = lake.sizes("temp", f"{day}/raw/*")
    copied = 0
    for path in recorded:
        if path in present and (path in taken or backups.get(backup_name(path)) != present[path]):
            lake.copy("raw", path, "temp", backup_name(path))
            copied += 1
    return copied


def remove_backed_up_raw(conn: psycopg.Connection, lake: Lake, run_date: date) -> int:
    """With PDBI_LAKE_REMOVE_RAW on: remove from raw/ the recorded files whose backup exists and
    that still hold the recorded bytes; returns how many were removed."""
    if not get_settings().lake_remove_raw:
        return 0
    day = run_date.isoformat()
    present = lake.sizes("raw", f"{day}/*")
    backups = lake.sizes("temp", f"{day}/raw/*")
    removed = 0
    for path, (size, checksum) in recorded_raw(conn, run_date).items():
        backed_up = backups.get(backup_name(path)) == size
        if path in present and backed_up and lake.fingerprint("raw", path) == (size, checksum):
            lake.remove("raw", path)
            removed += 1
    return removed


def restore_removed_raw(conn: psycopg.Connection, lake: Lake, run_date: date) -> int:
    """With PDBI_LAKE_REMOVE_RAW on: copy back to raw/ the day's parts an earlier run removed."""
    if not get_settings().lake_remove_raw:
        return 0
    day = run_date.isoformat()
    present = lake.sizes("raw", f"{day}/*")
    backups = lake.sizes("temp", f"{day}/raw/*")
    missing = [
        p for p in recorded_raw(conn, run_date) if p not in present and backup_name(p) in backups
    ]
    for path in missing:
        lake.copy("temp", backup_name(path), "raw", path)
    if missing:
        logger.warning(
            "restored %d part files of %s from temp/%s/raw/ (removed after an earlier run): "
            "stage and Spark read the whole day",
            len(missing),
            day,
            day,
        )
    return len(missing)


@task(
    **transient_retries(),
    cache_policy=NO_CACHE,
)
def backup_raw(new_files: NewFiles) -> int:
    """Once the warehouse committed (beside the Spark job): the day's raw files to temp/."""
    taken = {f.path for f in new_files.events}
    with postgres.connect() as conn:
        copied = copy_raw_backups(conn, get_lake(), new_files.run_date, taken)
    day = new_files.run_date.isoformat()
    get_run_logger().info("backup: %d raw files copied to temp/%s/raw/", copied, day)
    return copied


@task(
    **transient_retries(),
    cache_policy=NO_CACHE,
)
def remove_raw(new_files: NewFiles) -> int:
    """After the day is published, with PDBI_LAKE_REMOVE_RAW on: the backed-up files leave raw/."""
    day = new_files.run_date.isoformat()
    if not get_settings().lake_remove_raw:
        get_run_logger().info("PDBI_LAKE_REMOVE_RAW is off: the raw files stay in raw/%s/", day)
        return 0
    with postgres.connect() as conn:
        removed = remove_backed_up_raw(conn, get_lake(), new_files.run_date)
    get_run_logger().info("backup: %d raw files removed from raw/%s/", removed, day)
    return removed
