"""A whole run with known fake secrets, then a search for them everywhere a run leaves text.

The Drive credentials are a service-account key the emulator trusts (a fresh RSA key and a
client email made up for this test); the database password belongs to a role created on the
127.0.0.1 server for this test alone. Searched: every log record (pytest's capture of every
logger at DEBUG), stdout and stderr, the Prefect API's logs, every artifact, every Data Docs page
and lake file (the emulator's stored bytes), and every file of the run's data folder.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from flows.daily import daily_pipeline
from tasks.resources.lake import get_lake
from tests.conftest import SERVER_URL, clear_caches
from tests.drive_emulator import DriveEmulator
from tests.e2e.faults import DAY, write_day

pytest_plugins = ["tests.lake_fixtures"]
pytestmark = pytest.mark.usefixtures("prefect_api")


@pytest.fixture
def password_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A login role with a password, owner of a fresh database; PDBI_DATABASE_URL carries the
    password. Yields the password. Role and database are this test's own, dropped after."""
    suffix = uuid.uuid4().hex[:8]
    role, name = f"pdbi_secret_{suffix}", f"pdbi_secret_{suffix}"
    password = f"FAKE-db-password-{suffix}-not-real"
    with psycopg.connect(SERVER_URL, autocommit=True, connect_timeout=3) as admin:
        admin.execute(
            sql.SQL("create role {} login superuser password {}").format(
                sql.Identifier(role), sql.Literal(password)
            )
        )
        admin.execute(
            sql.SQL("create database {} owner {}").format(
                sql.Identifier(name), sql.Identifier(role)
            )
        )
    params = psycopg.conninfo.conninfo_to_dict(SERVER_URL)
    url = f"postgresql://{role}:{password}@{params.get('host', '127.0.0.1')}:"
    monkeypatch.setenv("PDBI_DATABASE_URL", f"{url}{params.get('port', 5432)}/{name}")
    clear_caches()
    yield password
    clear_caches()
    with psycopg.connect(SERVER_URL, autocommit=True) as admin:
        admin.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
        )
        admin.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(role)))


@pytest.fixture
def fake_drive_key(
    drive_emulator: DriveEmulator, drive_credentials: Path, monkeypatch: pytest.MonkeyPatch
) -> dict:
    """The lake fixture's key file rewritten with a made-up client email."""
    key = drive_emulator.service_account(email=f"fake-{uuid.uuid4().hex[:8]}@pdbi-test.invalid")
    drive_credentials.write_text(json.dumps(key), encoding="utf-8")
    return key


def test_no_secret_reaches_a_log_an_artifact_a_report_or_a_file(
    password_database: str,
    fake_drive_key: dict,
    gdrive_lake: object,
    drive_emulator: DriveEmulator,
    isolated_settings: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.logging.handlers import APILogWorker

    caplog.set_level(logging.DEBUG)
    lake = get_lake()
    write_day(lake)
    drive_emulator.inject("503", times=2)  # retries log too

    daily_pipeline(DAY)

    out, err = capfd.readouterr()
    APILogWorker.drain_all(timeout=10)
    with get_client(sync_client=True) as client:
        prefect_logs = "\n".join(log.message for log in client.read_logs())
        artifacts = "\n".join(
            json.dumps([a.key, a.description, a.data], default=str) for a in client.read_artifacts()
        )
    reports = "\n".join(
        lake.read_bytes("reports", name).decode("utf-8", "replace")
        for name in lake.list("reports", "**")
    )
    stored = b"".join(p.read_bytes() for p in drive_emulator.storage.iterdir() if p.is_file())
    data_dir = isolated_settings / "data"
    local = b"".join(p.read_bytes() for p in data_dir.rglob("*") if p.is_file())
    assert "data_docs/index.html" in "".join(lake.list("reports", "**"))
    assert prefect_logs and artifacts and caplog.text and drive_emulator.issued

    pem_body = [line for line in fake_drive_key["private_key"].splitlines() if "-----" not in line]
    secrets = {
        "database password": password_database,
        "client email": fake_drive_key["client_email"],
        "private key id": fake_drive_key["private_key_id"],
        **{f"private key line {i}": line for i, line in enumerate(pem_body[::6])},
        **{f"access token {i}": token for i, token in enumerate(drive_emulator.issued)},
    }
    places = {
        "log records": caplog.text,
        "stdout": out,
        "stderr": err,
        "Prefect logs": prefect_logs,
        "artifacts": artifacts,
        "Data Docs": reports,
    }
    for what, secret in secrets.items():
        for where, text in places.items():
            assert secret not in text, f"the {what} is in the {where}"
        assert secret.encode() not in stored, f"the {what} is in a lake file"
        assert secret.encode() not in local, f"the {what} is in a file of the data folder"
