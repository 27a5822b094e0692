"""The Spark job as one Prefect task: the day's events validated and analysed, the validation
recorded in the warehouse. Publishing the files is the next step (publish.py).

Where Spark works (`spark_places`): a local-folder lake is read and written in place through
`file://` URLs (on a cluster, that folder must be mounted on every node); any other lake (Drive,
memory://, s3:// through fsspec) is staged: the driver copies the day's inputs into
PDBI_SPARK_WORK_URL (by default PDBI_DATA_DIR/spark-work, fit for a local master only) and the
outputs are published from there.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import psycopg
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from psycopg.types.json import Jsonb

from tasks.analytics.day import Reject
from tasks.analytics.job import EventsRefused, run_job
from tasks.analytics.manifest import REJECTED_NAME, quarantine_name, validated_name
from tasks.analytics.matches import check_matches, record_decision, stop_message
from tasks.entities import EVENTS
from tasks.errors import DataError
from tasks.quality.validate import sanitize
from tasks.resources import postgres
from tasks.resources.lake import Lake, get_lake
from tasks.resources.spark import read_warehouse_students, spark_session, work_root
from tasks.resources.spark_work import WorkFiles, as_url, join
from tasks.settings import get_settings


@dataclass(frozen=True)
class SparkPlaces:
    """The URLs of one run: what Spark reads, where it writes; `staged` when they are copies."""

    events: list[str]
    students: str | None  # None: the warehouse by JDBC
    out: str
    validated: str
    staged: bool


def day_event_files(lake: Lake, run_date: date) -> list[str]:
    names = lake.list("raw", f"{run_date.isoformat()}/{EVENTS.file_name}")
    if not names:
        raise DataError(
            f"raw/{run_date.isoformat()}/ holds no part-*.json event files in the lake at "
            f"{lake.url}; put the day's events there (or run `pdbi generate`)."
        )
    return names


def spark_places(lake: Lake, run_date: date, students_name: str | None) -> SparkPlaces:
    """The run's URLs, the day's inputs staged first when the lake is not Spark's to read."""
    day = run_date.isoformat()
    names = day_event_files(lake, run_date)
    root = work_root(lake)
    if root is None:
        return SparkPlaces(
            events=[as_url(lake.path("raw", n)) for n in names],
            students=as_url(lake.path("temp", students_name)) if students_name else None,
            out=as_url(lake.path("temp", f"{day}/analytics")),
            validated=as_url(lake.path("validated", validated_name(run_date))),
            staged=False,
        )
    work, files = join(root, day), WorkFiles(get_settings().lake_options)
    files.remove(work)  # an earlier run's copies: the lake may have changed since
    events = []
    for name in names:
        url = join(work, "inputs", "raw", name)
        with lake.open("raw", name) as source:
            files.copy_from(source, url)
        events.append(url)
    students = None
    if students_name is not None:
        students = join(work, "inputs", "student_flat.parquet")
        with lake.open("temp", students_name) as source:
            files.copy_from(source, students)
    return SparkPlaces(
        events, students, join(work, "analytics"), join(work, "validated"), staged=True
    )


def analyse_day(
    run_date: date, students_name: str | None, inputs: str | None = None, load_id: str = "local"
) -> dict[str, Any]:
    """Run the job over the day's events and the warehouse's students; record the events'
    validation, their rejected lines and per-file counts in the warehouse, in one transaction.
    A refused day is recorded as failed and its quarantine file published before it fails.
    students_name is the Parquet export in the temp zone, or None to read by JDBC."""
    lake = get_lake()
    places = spark_places(lake, run_date, students_name)
    prefix = f"raw/{run_date.isoformat()}/"
    started = time.perf_counter()
    with spark_session(f"pdbi-analytics-{run_date.isoformat()}") as spark:
        session_seconds = round(time.perf_counter() - started, 3)
        students = places.students or read_warehouse_students(
            spark, postgres.database_url(), run_date
        )
        try:
            result = run_job(
                spark, places.events, students, places.out, run_date, inputs,
                places.validated, source_prefix=prefix, load_id=load_id,
            )  # fmt: skip
        except EventsRefused as refused:
            publish_quarantine(lake, refused.result, run_date)
            record_events(refused.result, load_id, run_date, "failed")
            raise
    result["_seconds"] = {"session": session_seconds, **result.get("_seconds", {})}
    decision = check_matches(lake, run_date, result["_matches"])
    if decision is not None:  # recorded, and shown in the events' validation result
        result["_guards"] = [decision.as_meta()]
        record_decision(decision, run_date, load_id)
        if decision.stopped:
            record_events(result, load_id, run_date, "failed")
            raise DataError(stop_message(decision, run_date))
    record_events(result, load_id, run_date, "loaded")
    result["_places"] = asdict(places)
    return {k: v for k, v in result.items() if k != "_rejects"}


def publish_quarantine(lake: Lake, result: dict[str, Any], run_date: date) -> None:
    """quarantine/<day>/events.jsonl from the job's folder, replaced atomically."""
    name = quarantine_name(run_date, REJECTED_NAME)
    files = WorkFiles(get_settings().lake_options)
    with (
        files.open(result["_rejected"]["path"]) as source,
        lake.write_atomic("quarantine", name) as target,
    ):
        while chunk := source.read(1 << 20):
            target.write(chunk)


def record_events(result: dict[str, Any], load_id: str, run_date: date, status: str) -> None:
    """meta.validation_results (the suite over the day), meta.load_counts (per file) and
    meta.rejected_rows (every unusable line, when the day loads), then a reconciliation in the
    warehouse: rows read = valid + rejected + malformed, and the rejected rows all stored."""
    events, rejects = result["_events"], result.get("_rejects", [])
    with postgres.connect(application_name="pdbi-analytics-record") as conn:
        record_validation(conn, result, load_id, run_date, status)
        if status == "loaded":
            for name, counts in result["_files"].items():
                conn.execute(
                    postgres.read_sql("meta/load_counts.sql"),
                    {
                        "load_id": load_id, "run_date": run_date, "entity": EVENTS.name,
                        "source_file": f"raw/{run_date.isoformat()}/{name}",
                        "rows_read": counts["read"], "rows_loaded": counts["valid"],
                        "rows_rejected": counts["rejected"] + counts["malformed"],
                    },
                )  # fmt: skip
            write_rejects(conn, rejects, load_id, run_date)
            reconcile(conn, events, load_id)


def record_validation(
    conn: psycopg.Connection, result: dict[str, Any], load_id: str, run_date: date, status: str
) -> None:
    validation, events = result["_validation"], result["_events"]
    report = validation["report"]
    statistics = report.get("statistics", {})
    unusable = events["rejected"] + events["malformed"]
    pdbi: dict[str, Any] = {**events, "status": status}
    if result.get("_guards"):  # a guard that failed on the day, stopped or accepted
        pdbi["guards"] = result["_guards"]
    report = {**report, "meta": {**report.get("meta", {}), "pdbi": pdbi}}
    conn.execute(
        postgres.read_sql("meta/validation_results.sql"),
        {
            "load_id": load_id, "run_date": run_date, "entity": EVENTS.name,
            "suite": EVENTS.name, "source_file": f"raw/{run_date.isoformat()}/{EVENTS.file_name}",
            "status": status, "success": validation["success"],
            "evaluated_expectations": statistics.get("evaluated_expectations", 0),
            "successful_expectations": statistics.get("successful_expectations", 0),
            "rows_evaluated": events["read"],
            "rows_unexpected": max(validation["rows_unexpected"], unusable),
            "rows_rejected": unusable,
            "reject_ratio": unusable / events["read"] if events["read"] else 0.0,
            "threshold": validation["threshold"],
            "result": Jsonb(sanitize(report)),
        },
    )  # fmt: skip


def write_rejects(
    conn: psycopg.Connection, rejects: list[Reject], load_id: str, run_date: date
) -> None:
    """This load's unusable lines in meta.rejected_rows, replacing a retry's."""
    conn.execute(
        postgres.read_sql("meta/rejected_rows_clear_load.sql"),
        {"load_id": load_id, "entity": EVENTS.name},
    )
    with conn.cursor() as cur, cur.copy(postgres.read_sql("meta/rejected_rows_copy.sql")) as copy:
        copy.set_types(["text", "date", "text", "text", "int8", "text[]", "jsonb"])
        prefix = f"raw/{run_date.isoformat()}/"
        for r in rejects:
            row = (load_id, run_date, EVENTS.name, prefix + r.source_file, r.line_number)
            copy.write_row((*row, list(r.reasons), Jsonb(sanitize(r.record()))))


def reconcile(conn: psycopg.Connection, events: dict[str, int], load_id: str) -> None:
    """Count what the warehouse holds of this load's events before committing."""
    stored = postgres.fetch_all(
        conn,
        postgres.read_sql("meta/rejected_rows_count.sql"),
        {"load_id": load_id, "entity": EVENTS.name},
    )[0][0]
    unusable = events["rejected"] + events["malformed"]
    if events["read"] != events["valid"] + unusable or stored != unusable:
        raise DataError(
            f"the day's events do not reconcile: {events['read']:,} read, {events['valid']:,} "
            f"valid, {events['rejected']:,} rejected and {events['malformed']:,} malformed, "
            f"but {stored:,} rejected rows stored; nothing was committed."
        )


@task(cache_policy=NO_CACHE, tags=["spark"])
def run_analytics(
    run_date: date, students_name: str | None, inputs: str | None = None, load_id: str = "local"
) -> dict[str, Any]:
    """No retries: a Spark failure here is a bug or bad input, not a blip. `inputs` (the
    digest of what the outputs are made from) goes into the manifest."""
    outputs = analyse_day(run_date, students_name, inputs, load_id)
    logger = get_run_logger()
    logger.info("spark outputs: %s", {k: v.get("rows") for k, v in outputs.items() if "rows" in v})
    events = outputs["_events"]
    logger.info("events: %s", events)
    steps = outputs.get("_seconds", {})
    logger.info("spark by step: %s", ", ".join(f"{k} {v:.1f} s" for k, v in steps.items()))
    for guard in outputs.get("_guards", []):
        logger.warning(
            "%s. Accepted: %s is in PDBI_ACCEPT_DAYS (recorded in meta.guard_decisions)",
            guard["message"], run_date,
        )  # fmt: skip
    if events["rejected"] or events["malformed"]:
        logger.warning(
            "%d events rejected and %d malformed of %d read (threshold %.2f%%): quarantine/%s",
            events["rejected"], events["malformed"], events["read"],
            100 * outputs["_validation"]["threshold"], quarantine_name(run_date, REJECTED_NAME),
        )  # fmt: skip
    return outputs
