"""The embedded PostgreSQL writes minimal WAL, and what a load commits survives a crash.

Real pgserver servers in the test's own data folder: one pdbi creates (configured and restarted
at once), one created before pdbi configured WAL (configured, taking the setting at its next
start, never restarted under a running command), and a crash (`pg_ctl stop -m immediate`)
right after a stage-style load committed rows that minimal WAL did not log.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pgserver
import psycopg
import pytest

from tasks.resources import postgres


def settings_of(url: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select name, setting from pg_settings where name in ('wal_level', 'max_wal_senders')"
        ).fetchall()
    return dict(rows)


@pytest.fixture
def pgdata(isolated_settings: Path) -> Iterator[Path]:
    folder = isolated_settings / "data" / "pgdata"
    yield folder
    postgres.stop_embedded(folder)


def test_a_new_embedded_server_runs_with_minimal_wal(pgdata: Path) -> None:
    url = postgres.database_url()
    assert settings_of(url) == {"wal_level": "minimal", "max_wal_senders": "0"}
    postgres.database_url.cache_clear()  # the next command reuses it as it is
    assert postgres.database_url() == url
    assert settings_of(url)["wal_level"] == "minimal"


def test_a_server_created_before_takes_minimal_wal_at_its_next_start(pgdata: Path) -> None:
    pgdata.mkdir(parents=True)
    url = pgserver.get_server(pgdata, cleanup_mode=None).get_uri()  # as an older pdbi left it
    with psycopg.connect(url) as conn:
        pid = conn.execute("select pg_backend_pid()").fetchone()[0]
        assert postgres.database_url() == url
        # not restarted under this open connection, which still works
        assert conn.execute("select pg_backend_pid()").fetchone()[0] == pid
    assert settings_of(url)["wal_level"] == "replica"
    assert postgres.stop_embedded(pgdata)
    assert settings_of(postgres.database_url())["wal_level"] == "minimal"


def test_rows_loaded_without_wal_survive_a_crash(pgdata: Path) -> None:
    url = postgres.database_url()
    with psycopg.connect(url) as conn:  # the stage load's shape: truncate, then fill, one commit
        conn.execute("create table loaded (id bigint, value text)")
        conn.commit()
        conn.execute("truncate loaded")
        conn.execute("insert into loaded select i, md5(i::text) from generate_series(1, 50000) i")
    # no checkpoint: the next start recovers
    postgres.pg_ctl(["-w", "stop", "-m", "immediate"], pgdata)
    postgres.database_url.cache_clear()
    with psycopg.connect(postgres.database_url()) as conn:
        count, total = conn.execute("select count(*), sum(id) from loaded").fetchone()
    assert (count, total) == (50000, 50000 * 50001 // 2)
