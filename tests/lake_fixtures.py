"""Lakes on every backend for tests: a local folder, memory://, S3 on moto's server, and Google
Drive on the emulator (tests/drive_emulator.py), each started on 127.0.0.1 by a fixture.

A test module loads them with `pytest_plugins = ["tests.lake_fixtures"]`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tasks.resources.lake import Lake, get_lake
from tests.conftest import clear_caches
from tests.drive_emulator import DriveEmulator

BACKENDS = ("local", "memory", "s3", "gdrive")
CHUNK_KIB = 256  # the smallest chunk Drive allows: small files already take several chunks


@pytest.fixture(scope="session")
def drive_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DriveEmulator]:
    emulator = DriveEmulator(tmp_path_factory.mktemp("drive-emulator")).start()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto's S3 in server mode: a real HTTP endpoint, as MinIO or S3 would be."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def drive_credentials(drive_emulator: DriveEmulator, tmp_path: Path) -> Path:
    """A service-account key file the emulator's token endpoint accepts."""
    path = tmp_path / "secrets" / "drive-service-account.json"
    path.parent.mkdir()
    path.write_text(json.dumps(drive_emulator.service_account()), encoding="utf-8")
    return path


@pytest.fixture
def gdrive_lake(
    drive_emulator: DriveEmulator, drive_credentials: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Lake]:
    """A gdrive:// lake in a fresh root folder, with fast retries and small chunks."""
    root = drive_emulator.add_folder(f"pdbi-lake-{uuid.uuid4().hex[:6]}")
    settings = {
        "PDBI_LAKE_URL": f"gdrive://{root}",
        "PDBI_GDRIVE_CREDENTIALS": str(drive_credentials),
        "PDBI_GDRIVE_API_ENDPOINT": drive_emulator.api_endpoint,
        "PDBI_GDRIVE_CHUNK_KIB": str(CHUNK_KIB),
        "PDBI_GDRIVE_RETRY_BASE_SECONDS": "0.02",
        "PDBI_GDRIVE_MAX_ATTEMPTS": "4",
        "PDBI_GDRIVE_TIMEOUT_SECONDS": "2",
    }
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    clear_caches()
    yield get_lake()
    drive_emulator.clear_faults()


@pytest.fixture
def s3_lake(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> Lake:
    """An s3:// lake in a fresh bucket of the moto server."""
    import boto3

    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    bucket = f"pdbi-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=moto_server).create_bucket(Bucket=bucket)
    monkeypatch.setenv("PDBI_LAKE_URL", f"s3://{bucket}/lake")
    monkeypatch.setenv("PDBI_LAKE_OPTIONS", json.dumps({"endpoint_url": moto_server}))
    clear_caches()
    return get_lake()


@pytest.fixture
def memory_lake(monkeypatch: pytest.MonkeyPatch) -> Lake:
    monkeypatch.setenv("PDBI_LAKE_URL", f"memory://lake-{uuid.uuid4().hex[:8]}")
    clear_caches()
    return get_lake()


@pytest.fixture
def local_lake() -> Lake:
    """The default of every test: a folder under tmp_path (tests/conftest.py)."""
    return get_lake()


@pytest.fixture(params=BACKENDS)
def any_lake(request: pytest.FixtureRequest) -> Lake:
    """The same test on each backend, through the same lake module."""
    return request.getfixturevalue(f"{request.param}_lake")
