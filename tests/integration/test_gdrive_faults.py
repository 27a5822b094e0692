"""Drive failing on purpose: the emulator answers 429, 500 or 503, drops the connection, or
answers too late; the request is retried with backoff (googleapiclient's num_retries; the lake
itself for upload chunks and token refreshes) and succeeds, or gives up after the bounded
attempts with one clear sentence (PDBI_GDRIVE_MAX_ATTEMPTS=4 in the gdrive_lake fixture)."""

from __future__ import annotations

import logging
import os
import time

import pytest

from tasks.resources.gdrive_api import DriveUnavailableError, backoff
from tasks.resources.lake import Lake
from tests.drive_emulator import DriveEmulator

pytest_plugins = ["tests.lake_fixtures"]
DAY = "2017-11-16"
CHUNK = 256 * 1024  # PDBI_GDRIVE_CHUNK_KIB of the gdrive_lake fixture
MAX_ATTEMPTS = 4  # PDBI_GDRIVE_MAX_ATTEMPTS of the gdrive_lake fixture
# times: httplib2 itself resends once after a connection dropped before any answer, so two
# drops in a row are what reaches the lake's retry. "slow" answers after the 2 s socket timeout.
FAULTS = {"429": (1, 0), "500": (1, 0), "503": (2, 0), "drop": (2, 0), "slow": (1, 3.0)}
OPERATIONS = {
    "list": "GET /drive/v2/files?q=",
    "download": "alt=media",
    "upload": "PUT /upload/drive/v2/files?uploadType=resumable&upload_id=",
    "token": "POST /token",  # the OAuth token endpoint, when an expired token is refreshed
}


def put(lake: Lake, name: str, data: bytes) -> None:
    with lake.write_atomic("raw", f"{DAY}/{name}") as out:
        out.write(data)


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
@pytest.mark.parametrize("kind", sorted(FAULTS))
def test_each_fault_is_retried_until_the_call_succeeds(
    gdrive_lake: Lake,
    drive_emulator: DriveEmulator,
    caplog: pytest.LogCaptureFixture,
    kind: str,
    operation: str,
) -> None:
    data = os.urandom(2 * CHUNK + 1000)  # larger than a chunk: a resumable upload
    if operation != "upload":
        put(gdrive_lake, "part-00000.json", data)
    times, delay = FAULTS[kind]
    fault = drive_emulator.inject(kind, times=times, match=OPERATIONS[operation], delay=delay)
    if operation == "token":
        drive_emulator.expire_tokens()

    with (
        caplog.at_level(logging.WARNING, logger="tasks.resources.gdrive_api"),
        caplog.at_level(logging.WARNING, logger="googleapiclient.http"),
    ):
        if operation == "upload":
            put(gdrive_lake, "part-00000.json", data)
        if operation in ("list", "token"):
            assert gdrive_lake.list("raw", f"{DAY}/*") == [f"{DAY}/part-00000.json"]
        assert gdrive_lake.read_bytes("raw", f"{DAY}/part-00000.json") == data

    assert fault.hits == times
    # a request retries itself (googleapiclient's num_retries), a dropped or slow token
    # refresh included; an upload chunk (resumed where the server got to) and a token refresh
    # the endpoint refused are retried by the lake
    if operation == "upload" or (operation == "token" and kind not in ("drop", "slow")):
        assert f"try 2 of {MAX_ATTEMPTS}" in caplog.text
    else:
        assert f"before retry 1 of {MAX_ATTEMPTS - 1} for request" in caplog.text


def test_an_upload_resumes_where_the_server_got_to(
    gdrive_lake: Lake, drive_emulator: DriveEmulator
) -> None:
    """The server stores the second chunk but answers after the client's timeout. The client
    asks how far the upload got (an empty PUT, bytes */size) and goes on from there, sending no
    chunk twice."""
    data = os.urandom(4 * CHUNK)
    fault = drive_emulator.inject("late", times=1, match=f"bytes {CHUNK}-", delay=3.0)
    mark = len(drive_emulator.requests)

    put(gdrive_lake, "part-00000.json", data)

    puts = drive_emulator.requests_matching("PUT", "upload_id=", since=mark)
    ranges = [r["content_range"] for r in puts]
    assert fault.hits == 1
    assert ranges == [
        f"bytes 0-{CHUNK - 1}/{len(data)}",
        f"bytes {CHUNK}-{2 * CHUNK - 1}/{len(data)}",
        f"bytes */{len(data)}",
        f"bytes {2 * CHUNK}-{3 * CHUNK - 1}/{len(data)}",
        f"bytes {3 * CHUNK}-{4 * CHUNK - 1}/{len(data)}",
    ]
    assert gdrive_lake.read_bytes("raw", f"{DAY}/part-00000.json") == data


@pytest.mark.parametrize("kind", ["503", "drop"])
def test_a_persistent_fault_fails_after_the_bounded_retries_with_a_clear_message(
    gdrive_lake: Lake, drive_emulator: DriveEmulator, kind: str
) -> None:
    gdrive_lake.ensure_zones()
    drive_emulator.inject(kind, times=-1, match=OPERATIONS["list"])
    before = len(drive_emulator.requests_matching("GET", "/drive/v2/files?q="))
    started = time.monotonic()

    with pytest.raises(DriveUnavailableError) as failure:
        gdrive_lake.list("raw", f"{DAY}/*")

    message = str(failure.value)
    assert message.startswith("Google Drive: list ")
    assert f"failed {MAX_ATTEMPTS} times" in message and "giving up" in message
    assert "PDBI_GDRIVE_MAX_ATTEMPTS" in message
    assert ("HTTP 503" if kind == "503" else "RemoteDisconnected") in message
    sent = len(drive_emulator.requests_matching("GET", "/drive/v2/files?q=")) - before
    # one request per attempt; httplib2 doubles each dropped one by resending it once
    assert sent == MAX_ATTEMPTS * (2 if kind == "drop" else 1)
    assert time.monotonic() - started < 5


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    for attempt in range(1, 12):
        step = min(32.0, 0.5 * 2 ** (attempt - 1))
        delays = {backoff(0.5, attempt) for _ in range(50)}
        assert all(step / 2 <= d <= step for d in delays)
        assert len(delays) > 1  # jitter: not every client retries at the same instant
