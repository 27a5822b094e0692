"""The daily pipeline on a real Spark standalone cluster: a master and two workers of one core and
1 GiB each (tests/spark_cluster.py), all on 127.0.0.1, each worker in its own mount namespace
that sees the shared folder holding the lake but not the driver's data folder. Its outputs must
equal a local-mode run's over a copy of the same day, byte for byte.
"""

from __future__ import annotations

import json
import shutil
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import psycopg
import pyarrow.parquet as pq
import pytest
from psycopg import sql

from flows.daily import daily_pipeline
from tasks.generator.day import generate
from tasks.resources.lake import get_lake
from tests.conftest import IN_CI, SERVER_URL, clear_caches
from tests.spark_cluster import Cluster, check_unshare, start_cluster

pytestmark = [pytest.mark.usefixtures("prefect_api")]
DAY = date(2017, 11, 16)
APP = f"pdbi-analytics-{DAY.isoformat()}"
CLUSTER_CONF = {
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    # two workers on one host take each other's shuffle files for local ones: not here
    "spark.shuffle.readHostLocalDisk": "false",
    "spark.executor.memory": "768m",
}


@pytest.fixture
def cluster(isolated_settings: Path) -> Iterator[Cluster]:
    reason = check_unshare()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"the cluster test needs private mount namespaces in CI: {reason}")
        pytest.skip(reason)
    hidden = isolated_settings / "data"  # the driver's scratch, embedded database, Spark dirs
    hidden.mkdir(parents=True, exist_ok=True)
    started = start_cluster(isolated_settings / "cluster-logs", [hidden])
    try:
        yield started
    finally:
        started.stop()


def fresh_database(monkeypatch: pytest.MonkeyPatch) -> str:
    """A new database on the 127.0.0.1 server, PDBI_DATABASE_URL pointing at it."""
    name = f"pdbi_cluster_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(SERVER_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    monkeypatch.setenv("PDBI_DATABASE_URL", psycopg.conninfo.make_conninfo(SERVER_URL, dbname=name))
    return name


def drop_database(name: str) -> None:
    drop = sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
    with psycopg.connect(SERVER_URL, autocommit=True) as admin:
        admin.execute(drop)


def published(lake_root: Path) -> dict[str, bytes]:
    """Every file the Spark job published: the analytics zone (its root, the day's partition,
    the series) and the events' quarantine (the other quarantine files come from stage loads
    and name their run's load id). The Parquet parts of full.csv are compared by their rows
    (`full_rows`): how a frame is cut into part files depends on the executors."""
    quarantine = lake_root / "quarantine" / DAY.isoformat()
    files = [p for p in sorted((lake_root / "analytics").rglob("*")) if p.is_file()]
    files += [quarantine / "events.jsonl", quarantine / "malformed-events.jsonl"]
    return {
        p.relative_to(lake_root).as_posix(): comparable(p) for p in files if p.suffix != ".parquet"
    }


def comparable(path: Path) -> bytes:
    """A file's bytes; a manifest's without the list of Parquet parts (cut by the executors)."""
    if path.name != "manifest.json":
        return path.read_bytes()
    manifest = json.loads(path.read_bytes())
    manifest.get("parquet", {}).pop("files", None)
    return json.dumps(manifest, sort_keys=True).encode()


def full_rows(lake_root: Path) -> list[dict]:
    folder = lake_root / "analytics" / f"day={DAY.isoformat()}" / "full"
    return pq.read_table(sorted(folder.glob("*.parquet"))).to_pylist()


def validated_rows(lake_root: Path) -> list[tuple]:
    folder = lake_root / "validated" / "events" / f"day={DAY.isoformat()}"
    table = pq.read_table(sorted(folder.glob("*.parquet")))
    return sorted(tuple("" if v is None else v for v in row.values()) for row in table.to_pylist())


def worker_executors(cluster: Cluster) -> dict[str, list[str]]:
    """Worker id -> the applications its executors ran, from each worker's JSON status."""
    found = {}
    for worker in cluster.status()["workers"]:
        with urllib.request.urlopen(f"{worker['webuiaddress']}/json/", timeout=5) as answer:
            state = json.load(answer)
        ran = state.get("executors", []) + state.get("finishedexecutors", [])
        found[worker["id"]] = sorted({e["appid"] for e in ran})
    return found


@pytest.mark.parametrize("database_url", ["server"], indirect=True)
def test_the_pipeline_on_a_cluster_equals_a_local_run(
    database_url: str,
    cluster: Cluster,
    isolated_settings: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lake_root = isolated_settings / "lake"
    generate(get_lake(), scale=0.01, seed=17, run_date=DAY)
    local_lake = isolated_settings / "local-lake"
    shutil.copytree(lake_root, local_lake)

    monkeypatch.setenv("PDBI_SPARK_MASTER", cluster.master_url)
    monkeypatch.setenv("PDBI_SPARK_CONF", json.dumps(CLUSTER_CONF))
    clear_caches()
    on_cluster = daily_pipeline(DAY)

    status = cluster.status()
    (app,) = [a for a in status["completedapps"] if a["name"] == APP]
    assert app["state"] == "FINISHED" and app["cores"] == 2, app
    executors = worker_executors(cluster)
    assert len(executors) == 2 and all(apps == [app["id"]] for apps in executors.values())

    monkeypatch.setenv("PDBI_SPARK_MASTER", "local[2]")
    monkeypatch.delenv("PDBI_SPARK_CONF")
    monkeypatch.setenv("PDBI_LAKE_URL", str(local_lake))
    local_database = fresh_database(monkeypatch)
    clear_caches()
    try:
        in_process = daily_pipeline(DAY)
    finally:
        drop_database(local_database)

    assert on_cluster.events == in_process.events and on_cluster.events["valid"] > 1000
    assert on_cluster.outputs == in_process.outputs
    cluster_files, local_files = published(lake_root), published(local_lake)
    assert set(cluster_files) == set(local_files) and "analytics/full.csv" in cluster_files
    for name, data in cluster_files.items():
        assert data == local_files[name], f"{name} differs between the cluster and local runs"
    assert validated_rows(lake_root) == validated_rows(local_lake)
    assert full_rows(lake_root) == full_rows(local_lake) and full_rows(local_lake)
