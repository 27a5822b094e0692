"""The daily pipeline as operators see it, on a real Prefect server started by the tests: its
artifacts, retries of transient faults and none of data errors, a failed run retried from the
API (as the UI's Retry does) resuming without duplicates, and the deployments of
deployments/prefect.yaml registered and run by a process worker.

Expected counts come from the test's own input (the generated files, tests/e2e/expected.py)
or from reading the warehouse's tables directly, never from the code that reports them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

import psycopg
import pytest
import yaml
from psycopg import sql

from flows.daily import daily_pipeline
from tasks.entities import ENTITIES
from tasks.generator.day import generate
from tasks.resources import postgres
from tasks.resources.lake import get_lake
from tasks.resources.prefect_runs import task_runs
from tests.e2e.expected import expected_outputs, students_flat

if TYPE_CHECKING:
    from tests.prefect_server import PrefectServer

pytest_plugins = ["tests.prefect_server"]
pytestmark = pytest.mark.parametrize("database_url", ["server"], indirect=True)
DAY = date(2017, 11, 16)
NEXT = date(2017, 11, 17)
PROJECT = Path(__file__).resolve().parents[2]


# --- reading what the server recorded -------------------------------------------------------


def artifacts(flow_run_id: UUID) -> dict[str, Any]:
    """key -> data (tables decoded) of the artifacts of one flow run."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    flt = ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=flt)
    return {a.key: json.loads(a.data) if a.type == "table" else a.data for a in found if a.key}


def state_names(task_run_id: UUID) -> list[str]:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return [s.name for s in client.read_task_run_states(task_run_id)]


def count(query: str) -> int:
    with postgres.connect() as conn:
        return postgres.fetch_all(conn, query)[0][0]


def file_records(lake_root: Path, day: date, entity: str) -> list[dict]:
    path = lake_root / "transactional" / day.isoformat() / f"{entity}.json"
    return json.loads(path.read_text(encoding="utf-8-sig"))


# --- the run and its artifacts -------------------------------------------------------------


def copy_day_with_moves(lake_root: Path, moved: int) -> set[str]:
    """NEXT's files: DAY's, with `moved` students living in another state; returns their ids."""
    for zone in ("transactional", "raw"):
        shutil.copytree(lake_root / zone / DAY.isoformat(), lake_root / zone / NEXT.isoformat())
    path = lake_root / "transactional" / NEXT.isoformat() / "students.json"
    records = json.loads(path.read_text(encoding="utf-8-sig"))
    current = students_flat(lake_root / "transactional" / DAY.isoformat())
    states = sorted({s for s, *_ in current.values() if s != "unknown"})
    chosen = {sid for sid, (state, *_) in sorted(current.items()) if state != "unknown"}
    chosen = set(sorted(chosen)[:moved])
    for record in records:
        sid = str(record.get("Id") or "").strip()
        if sid in chosen:
            old = current[sid][0]
            record["State"] = next(s for s in states if s != old)
    path.write_text(json.dumps(records), encoding="utf-8-sig")
    return chosen


def test_a_run_reports_its_counts_as_artifacts(
    database_url: str, prefect_server: PrefectServer, isolated_settings: Path
) -> None:
    lake_root = isolated_settings / "lake"
    written = generate(get_lake(), scale=0.01, seed=11, run_date=DAY)

    state = daily_pipeline(DAY, return_state=True)

    assert state.is_completed(), state.message
    found = artifacts(state.state_details.flow_run_id)
    assert {"stage-counts", "scd-changes", "merge-counts", "analytics-outputs", "data-docs"} <= set(
        found
    )
    stage = {row["entity"]: row for row in found["stage-counts"]}
    assert set(stage) == set(ENTITIES)
    for entity, row in stage.items():
        loaded = count(f"select count(*) from stage.{entity}")
        assert row["rows_read"] == written[f"{entity}.json"], entity
        assert (row["rows_loaded"], row["rows_rejected"]) == (loaded, row["rows_read"] - loaded)
    students = students_flat(lake_root / "transactional" / DAY.isoformat())
    universities = {str(r["Id"]) for r in file_records(lake_root, DAY, "universities")}
    scd = {row["dimension"]: row for row in found["scd-changes"]}
    assert set(scd) == {"dim_university", "dim_course", "dim_subject", "dim_student"}
    assert (scd["dim_student"]["opened"], scd["dim_student"]["closed"]) == (len(students), 0)
    assert scd["dim_university"]["opened"] == len(universities)
    expected = expected_outputs(lake_root, DAY.isoformat())
    outputs = {row["file"]: row["rows"] for row in found["analytics-outputs"]}
    assert outputs == {name: sum(rows.values()) for name, rows in expected.items()}
    assert "(http://127.0.0.1:5006/reports/data_docs/index.html)" in found["data-docs"]
    assert (lake_root / "reports" / "data_docs" / "index.html").is_file()

    moved = copy_day_with_moves(lake_root, moved=25)
    state = daily_pipeline(NEXT, return_state=True)

    assert state.is_completed(), state.message
    changes = artifacts(state.state_details.flow_run_id)["scd-changes"]
    scd = {row["dimension"]: row for row in changes}
    assert scd["dim_student"]["opened"] == scd["dim_student"]["closed"] == len(moved)
    assert scd["dim_student"]["unchanged"] == len(students) - len(moved)
    assert scd["dim_university"] == {
        **scd["dim_university"], "opened": 0, "closed": 0, "unchanged": len(universities)
    }  # fmt: skip


# --- retries -------------------------------------------------------------------------------


@pytest.fixture
def drop_loader_connection(database_url: str) -> Iterator[dict[str, int]]:
    """Drops the stage loader's connection once: a side transaction locks stage.students, so
    the loader's truncate waits; the watcher terminates that backend, then lets go."""
    killed = {"backends": 0}
    ready = threading.Event()
    stop = threading.Event()

    def watch() -> None:
        with psycopg.connect(database_url) as side, psycopg.connect(database_url) as probe:
            probe.autocommit = True
            side.execute("lock table stage.students in access exclusive mode")
            ready.set()
            while not stop.is_set() and not killed["backends"]:
                rows = probe.execute(
                    "select pid from pg_stat_activity where application_name = %s "
                    "and wait_event_type = 'Lock'",
                    ("pdbi-stage-students",),
                ).fetchall()
                for (pid,) in rows:
                    probe.execute("select pg_terminate_backend(%s)", (pid,))
                    killed["backends"] += 1
                time.sleep(0.05)
            side.rollback()

    with postgres.connect() as conn:  # the stage tables must exist before they can be locked
        postgres.apply_migrations(conn)
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    assert ready.wait(30)
    yield killed
    stop.set()
    watcher.join(30)


def test_a_dropped_database_connection_is_retried_and_the_run_completes(
    database_url: str,
    prefect_server: PrefectServer,
    isolated_settings: Path,
    drop_loader_connection: dict[str, int],
) -> None:
    written = generate(get_lake(), scale=0.01, seed=3, run_date=DAY)

    state = daily_pipeline(DAY, return_state=True)

    assert drop_loader_connection["backends"] == 1
    assert state.is_completed(), state.message
    (run,) = task_runs(state.state_details.flow_run_id, "stage-students")
    assert run.run_count == 2
    assert "AwaitingRetry" in state_names(run.id)
    loaded = count("select count(*) from stage.students")
    rejected = count("select count(*) from meta.rejected_rows where entity = 'students'")
    assert loaded + rejected == written["students.json"]  # nothing twice, nothing lost
    assert count("select count(*) from meta.load_counts where entity = 'students'") == 1


def test_a_data_error_fails_at_once_without_retry(
    database_url: str, prefect_server: PrefectServer, isolated_settings: Path
) -> None:
    generate(get_lake(), scale=0.01, seed=3, run_date=DAY)
    broken = isolated_settings / "lake" / "transactional" / DAY.isoformat() / "students.json"
    broken.write_bytes(broken.read_bytes()[: broken.stat().st_size // 2])  # cut mid-record

    state = daily_pipeline(DAY, return_state=True)

    assert state.is_failed()
    assert "students.json" in str(state.result(raise_on_failure=False))
    (run,) = task_runs(state.state_details.flow_run_id, "stage-students")
    assert run.state.is_failed()
    assert run.run_count == 1
    assert not {"AwaitingRetry", "Retrying"} & set(state_names(run.id))
    assert count("select count(*) from meta.ingested_files") == 0  # nothing recorded as taken


# --- deployments ---------------------------------------------------------------------------


def definitions() -> dict[str, dict]:
    """The deployments of deployments/prefect.yaml as written, by name."""
    text = (PROJECT / "deployments" / "prefect.yaml").read_text(encoding="utf-8")
    return {d["name"]: d for d in yaml.safe_load(text)["deployments"]}


def read_deployment(name: str) -> Any:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_deployment_by_name(f"daily-pipeline/{name}")


def test_docker_and_kubernetes_deployments_register_with_their_job_variables(
    database_url: str, prefect_server: PrefectServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.client.orchestration import get_client

    from tasks.resources.prefect_deploy import deploy
    from tests.conftest import clear_caches

    monkeypatch.setenv("PDBI_IMAGE", "registry.example.com/pdbi:test")
    clear_caches()

    assert deploy(["daily-docker", "daily-kubernetes"]) == ["daily-docker", "daily-kubernetes"]

    written = definitions()
    for name, pool_type in (("daily-docker", "docker"), ("daily-kubernetes", "kubernetes")):
        deployment = read_deployment(name)
        wanted = written[name]["work_pool"]["job_variables"]
        assert deployment.job_variables == {**wanted, "image": "registry.example.com/pdbi:test"}
        assert deployment.work_pool_name == written[name]["work_pool"]["name"]
        assert deployment.pull_steps == written[name]["pull"]
        (schedule,) = deployment.schedules
        assert (schedule.schedule.cron, schedule.schedule.timezone) == (
            "0 3 * * *",
            "America/Sao_Paulo",
        )
        run_date = deployment.parameter_openapi_schema["properties"]["run_date"]
        assert {"type": "string", "format": "date"} in run_date["anyOf"]
        assert "run_date" not in deployment.parameter_openapi_schema.get("required", [])
        with get_client(sync_client=True) as client:
            pool = client.read_work_pool(deployment.work_pool_name)
        assert pool.type == pool_type
        assert {"image", *wanted} <= set(pool.base_job_template["variables"]["properties"])
    with get_client(sync_client=True) as client:
        template = client.read_work_pool("pdbi-kubernetes").base_job_template
    container = template["job_configuration"]["job_manifest"]["spec"]["template"]["spec"][
        "containers"
    ][0]
    assert container["resources"]["limits"] == {
        "cpu": "{{ cpu_limit }}",
        "memory": "{{ memory_limit }}",
    }
    assert container["envFrom"][0]["secretRef"]["name"] == "{{ settings_secret }}"


@pytest.fixture
def process_worker(
    prefect_server: PrefectServer, database_url: str, isolated_settings: Path
) -> Iterator[subprocess.Popen]:
    """`pdbi worker --pool pdbi-process` in a subprocess, with this test's settings."""
    env = prefect_server.env(
        PDBI_DATABASE_URL=database_url,
        PDBI_LAKE_URL=str(isolated_settings / "lake"),
        PDBI_DATA_DIR=str(isolated_settings / "data"),
        PDBI_SPARK_MASTER="local[2]",
        PDBI_SPARK_DRIVER_MEMORY="2g",
        PDBI_RETRY_DELAY_SECONDS="0.1",
    )
    log = open(isolated_settings / "worker.log", "wb")  # noqa: SIM115 - closed below
    worker = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "worker", "--pool", "pdbi-process"],
        cwd=isolated_settings, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    yield worker
    worker.terminate()
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
    log.close()


def warehouse_counts() -> dict[str, int]:
    tables = ("dim_university", "dim_course", "dim_subject", "dim_student", "fct_session",
              "fct_subscription", "fct_follow")  # fmt: skip
    with postgres.connect() as conn:
        return {
            t: postgres.fetch_all(
                conn, sql.SQL("select count(*) from {}").format(sql.Identifier("dw", t))
            )[0][0]
            for t in tables
        }


def wait_for_final_state(flow_run_id: UUID, timeout: float, log: Path) -> Any:
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            run = client.read_flow_run(flow_run_id)
            if run.state and run.state.is_final():
                return run
            time.sleep(1)
    pytest.fail(f"flow run {flow_run_id} did not finish:\n{log.read_text()[-4000:]}")


def test_a_process_worker_runs_the_deployment_and_a_retried_run_resumes(
    database_url: str,
    prefect_server: PrefectServer,
    isolated_settings: Path,
    process_worker: subprocess.Popen,
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.states import Scheduled

    from tasks.resources.prefect_deploy import deploy

    lake_root = isolated_settings / "lake"
    generate(get_lake(), scale=0.01, seed=11, run_date=DAY)
    day_files = sum(1 for p in (lake_root / "transactional" / DAY.isoformat()).iterdir()) + sum(
        1 for p in (lake_root / "raw" / DAY.isoformat()).iterdir()
    )
    blocker = lake_root / "temp" / DAY.isoformat() / "warehouse"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("in the way")  # the export for Spark fails: a file where its folder goes
    assert deploy(["daily-process"]) == ["daily-process"]
    log = isolated_settings / "worker.log"

    run = run_deployment(
        "daily-pipeline/daily-process", parameters={"run_date": DAY.isoformat()}, timeout=0
    )
    first = wait_for_final_state(run.id, 600, log)

    assert first.state.is_failed(), first.state
    assert first.name == f"daily-{DAY}"
    assert count("select count(*) from meta.ingested_files") == day_files  # stage committed
    after_first = warehouse_counts()
    blocker.unlink()
    with get_client(sync_client=True) as client:  # what the UI's Retry button does
        client.set_flow_run_state(run.id, Scheduled(message="Retried by the test"), force=True)
    second = wait_for_final_state(run.id, 600, log)

    assert second.state.is_completed(), second.state
    assert second.run_count == 2
    expected = expected_outputs(lake_root, DAY.isoformat())
    for name, rows in expected.items():
        text = (lake_root / "analytics" / name).read_text(encoding="utf-8")
        assert len(text.splitlines()) - 1 == sum(rows.values()), name
    assert count("select count(*) from meta.ingested_files") == day_files
    assert count("select count(distinct load_id) from meta.load_counts") == 1  # not reloaded
    students = students_flat(lake_root / "transactional" / DAY.isoformat())
    assert count("select count(*) from dw.student_current") == len(students)
    assert count("select count(*) from dw.dim_student") == len(students) + 1  # + unknown member
    assert warehouse_counts() == after_first  # the retry added nothing
