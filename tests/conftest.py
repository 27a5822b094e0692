"""Fixtures shared by every level: isolated settings, and the two database paths."""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

# Prefect reads these when first imported: keep its state out of ~/.prefect, give its
# temporary server time to migrate on a cold machine, and send no telemetry. Under
# pytest-xdist each worker inherits the controller's environment, so each gets a home of its
# own: two temporary servers on one SQLite file lock each other out.
_XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if _XDIST_WORKER or "PREFECT_HOME" not in os.environ:
    _WHO = _XDIST_WORKER or "main"
    os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix=f"pdbi-test-prefect-{_WHO}-")
# An xdist worker's __main__ is execnet's `python -c` bootstrap: no __file__, no __spec__.
# pyspark.sql.connect (which GX imports) takes such a __main__ for a doctest run and calls
# sys.exit(0). A __main__ that names an empty module is what `python -m pytest` would give.
_MAIN = sys.modules["__main__"]
if _XDIST_WORKER and _MAIN.__spec__ is None and not hasattr(_MAIN, "__file__"):
    _MAIN.__file__ = str(Path(__file__).with_name("xdist_main.py"))
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
# I/O tasks read their retry delays when imported: retries in tests wait a tenth of a second.
os.environ.setdefault("PDBI_RETRY_DELAY_SECONDS", "0.1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

# pyspark keeps one JVM per process, and a JDBC driver jar only joins its class path when it
# starts: whichever test starts Spark first, start it with the jar, so the JDBC tests can run
# after tests that use the default Parquet path.
_JDBC_JAR = os.environ.get("PDBI_TEST_JDBC_JAR", "/usr/share/java/postgresql.jar")
if os.path.isfile(_JDBC_JAR) and "PYSPARK_SUBMIT_ARGS" not in os.environ:
    os.environ["PYSPARK_SUBMIT_ARGS"] = f"--driver-class-path {_JDBC_JAR} pyspark-shell"

from tasks.resources import lake as lake_module  # noqa: E402
from tasks.resources import postgres  # noqa: E402
from tasks.settings import get_settings  # noqa: E402

# The server every machine of this project has; CI must exercise it as well as the embedded one.
SERVER_URL = os.environ.get("PDBI_TEST_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = bool(os.environ.get("CI"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each test level is a marker named for its folder, so `pytest -m unit` runs one level."""
    for item in items:
        level = item.path.parent.name
        if level in ("unit", "integration", "e2e", "browser"):
            item.add_marker(getattr(pytest.mark, level))


def clear_caches() -> None:
    get_settings.cache_clear()
    lake_module._lake_for.cache_clear()
    lake_module._local_checksums.cache_clear()
    postgres.database_url.cache_clear()


@pytest.fixture(autouse=True)
def isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """Each test sees only the settings it sets: a fresh data folder and lake under tmp_path."""
    for var in list(os.environ):
        if var.startswith("PDBI_") and var != "PDBI_TEST_SERVER_URL":
            monkeypatch.delenv(var)
    for var in ("DATABASE_URL", "SPARK_MASTER", "JAVA_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env file is read
    monkeypatch.setenv("PDBI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PDBI_LAKE_URL", str(tmp_path / "lake"))
    monkeypatch.setenv("PDBI_SPARK_MASTER", "local[2]")
    monkeypatch.setenv("PDBI_SPARK_DRIVER_MEMORY", "2g")
    clear_caches()
    yield tmp_path
    clear_caches()


@pytest.fixture(scope="session")
def embedded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One pgserver for the session; tests get a fresh database each (see `database_url`)."""
    import pgserver

    pgdata = tmp_path_factory.mktemp("pgserver") / "pgdata"
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    yield server.get_uri()
    server.cleanup()


def _server_reachable() -> bool:
    try:
        with psycopg.connect(SERVER_URL, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@pytest.fixture(params=["embedded", "server"])
def database_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh, empty database on the embedded server and on the 127.0.0.1 server in turn,
    with PDBI_DATABASE_URL pointing at it."""
    if request.param == "embedded":
        admin_url = request.getfixturevalue("embedded_server")
    else:
        if not _server_reachable():
            if IN_CI:
                pytest.fail(f"the PostgreSQL server at {SERVER_URL} is not reachable in CI")
            pytest.skip(f"no PostgreSQL server at {SERVER_URL}")
        admin_url = SERVER_URL
    name = f"pdbi_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    url = psycopg.conninfo.make_conninfo(admin_url, dbname=name)
    monkeypatch.setenv("PDBI_DATABASE_URL", url)
    clear_caches()
    yield url
    clear_caches()
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
        )


@pytest.fixture
def migrated(database_url: str) -> Iterator[psycopg.Connection]:
    """A connection to a fresh database with every migration applied."""
    with postgres.connect() as conn:
        postgres.apply_migrations(conn)
        yield conn
