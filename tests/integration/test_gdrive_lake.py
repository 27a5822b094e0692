"""A gdrive:// lake against the Drive emulator, with the real pydrive2 client: Drive's habits
(pages, same-titled files, trash, Google documents, chunked transfers) and its credentials."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import pytest
from oauth2client.client import OAuth2Credentials

from tasks.errors import ConfigError
from tasks.resources.lake import Lake, get_lake
from tests.conftest import clear_caches
from tests.drive_emulator import FOLDER, DriveEmulator

pytest_plugins = ["tests.lake_fixtures"]
DAY = "2017-11-16"
CHUNK = 256 * 1024  # PDBI_GDRIVE_CHUNK_KIB of the gdrive_lake fixture (tests/lake_fixtures.py)


def folder(emulator: DriveEmulator, parent: str, title: str) -> str:
    """The id of the (first) folder of that title, created when missing."""
    found = [m for m in emulator.children(parent) if m["title"] == title]
    return found[0]["id"] if found else emulator.add_folder(title, parent)


def day_folder(emulator: DriveEmulator, lake: Lake, zone: str) -> str:
    return folder(emulator, folder(emulator, lake.root, zone), DAY)


def test_zone_folders_are_found_by_name_and_created_when_missing(
    gdrive_lake: Lake, drive_emulator: DriveEmulator
) -> None:
    raw = drive_emulator.add_folder("raw", gdrive_lake.root)
    drive_emulator.add_file(drive_emulator.add_folder(DAY, raw), "part-00000.json", b"{}\n")

    gdrive_lake.ensure_zones()
    clear_caches()  # a second process: nothing cached
    get_lake().ensure_zones()

    zones = drive_emulator.children(gdrive_lake.root)
    assert sorted(m["title"] for m in zones) == sorted(
        ["raw", "transactional", "analytics", "temp", "quarantine", "reports", "validated"]
    )
    assert all(m["mimeType"] == FOLDER for m in zones)
    assert [m["id"] for m in zones if m["title"] == "raw"] == [raw]
    assert get_lake().list("raw", f"{DAY}/*.json") == [f"{DAY}/part-00000.json"]


def test_a_root_folder_that_does_not_exist_fails_naming_the_setting(
    gdrive_lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PDBI_LAKE_URL", "gdrive://no-such-folder-id")
    clear_caches()
    with pytest.raises(FileNotFoundError, match="PDBI_LAKE_URL names a folder that exists"):
        get_lake().ensure_zones()


def test_long_listings_are_followed_page_by_page(
    gdrive_lake: Lake, drive_emulator: DriveEmulator
) -> None:
    parent = day_folder(drive_emulator, gdrive_lake, "raw")
    names = [f"part-{i:05d}.json" for i in range(250)]
    for name in names:
        drive_emulator.add_file(parent, name, name.encode())
    drive_emulator.page_limit = 100  # Drive may return fewer items than maxResults asks
    mark = len(drive_emulator.requests)
    try:
        listed = gdrive_lake.list("raw", f"{DAY}/part-*.json")
    finally:
        drive_emulator.page_limit = 1000

    assert listed == [f"{DAY}/{n}" for n in names]
    pages = drive_emulator.requests_matching("GET", f"%27{parent}%27+in+parents", since=mark)
    assert sum("pageToken=" in r["target"] for r in pages) >= 2


def test_same_titled_files_the_newest_wins_and_a_warning_names_the_others(
    gdrive_lake: Lake, drive_emulator: DriveEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    parent = day_folder(drive_emulator, gdrive_lake, "transactional")
    versions = [b'[{"Id": 1}]', b'[{"Id": 2}]', b'[{"Id": 3}, {"Id": 4}]']
    ids = [drive_emulator.add_file(parent, "courses.json", v) for v in versions]

    with caplog.at_level(logging.WARNING):
        content = gdrive_lake.read_bytes("transactional", f"{DAY}/courses.json")
        fingerprint = gdrive_lake.fingerprint("transactional", f"{DAY}/courses.json")

    assert content == versions[-1]
    assert fingerprint == (len(versions[-1]), f"md5:{hashlib.md5(versions[-1]).hexdigest()}")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("3 files share this title" in w and ids[0] in w and ids[1] in w for w in warnings)


def test_trashed_files_and_google_documents_are_ignored(
    gdrive_lake: Lake, drive_emulator: DriveEmulator
) -> None:
    parent = day_folder(drive_emulator, gdrive_lake, "raw")
    drive_emulator.add_file(parent, "part-00000.json", b"{}\n")
    drive_emulator.add_file(parent, "part-00001.json", b"old\n", trashed=True)
    doc = "application/vnd.google-apps.document"
    drive_emulator.add_file(parent, "part-00002.json", b"", mime_type=doc)

    assert gdrive_lake.list("raw", f"{DAY}/*") == [f"{DAY}/part-00000.json"]
    assert not gdrive_lake.exists("raw", f"{DAY}/part-00001.json")
    assert not gdrive_lake.exists("raw", f"{DAY}/part-00002.json")


def test_folders_sharing_a_title_read_as_one_and_new_files_go_to_the_oldest(
    gdrive_lake: Lake, drive_emulator: DriveEmulator
) -> None:
    first = drive_emulator.add_folder("quarantine", gdrive_lake.root)
    second = drive_emulator.add_folder("quarantine", gdrive_lake.root)
    drive_emulator.add_file(first, "a.jsonl", b"a\n")
    drive_emulator.add_file(second, "b.jsonl", b"b\n")

    with gdrive_lake.write_atomic("quarantine", "c.jsonl") as out:
        out.write(b"c\n")

    assert gdrive_lake.list("quarantine") == ["a.jsonl", "b.jsonl", "c.jsonl"]
    assert "c.jsonl" in [m["title"] for m in drive_emulator.children(first)]


def test_large_files_go_up_in_resumable_chunks_and_come_down_in_ranges(
    gdrive_lake: Lake, drive_emulator: DriveEmulator
) -> None:
    data = os.urandom(5 * CHUNK + 12_345)
    mark = len(drive_emulator.requests)
    with gdrive_lake.write_atomic("raw", f"{DAY}/part-00000.json") as out:
        for offset in range(0, len(data), 100_000):
            out.write(data[offset : offset + 100_000])
    chunks = [
        r["content_range"] for r in drive_emulator.requests_matching("PUT", "upload_id=", mark)
    ]
    expected = [
        f"bytes {s}-{min(s + CHUNK, len(data)) - 1}/{len(data)}" for s in range(0, len(data), CHUNK)
    ]
    assert chunks == expected

    read = bytearray()
    with gdrive_lake.open("raw", f"{DAY}/part-00000.json") as handle:
        while block := handle.read(64 * 1024):
            read += block
    assert bytes(read) == data
    ranges = [r["range"] for r in drive_emulator.requests_matching("GET", "alt=media", mark)]
    sizes = [int(e) - int(s) + 1 for s, e in (r[6:].split("-") for r in ranges)]
    assert len(ranges) >= 6 and max(sizes) <= CHUNK


def test_publishing_uploads_the_new_file_then_trashes_the_old(
    gdrive_lake: Lake, drive_emulator: DriveEmulator, tmp_path: Path
) -> None:
    local = tmp_path / "users.csv"
    local.write_bytes(b"custom_4,count\nCore User,1\n")
    mark = len(drive_emulator.requests)
    gdrive_lake.publish_file(local, "analytics", "users.csv")
    local.write_bytes(b"custom_4,count\nCore User,2\n")
    gdrive_lake.publish_file(local, "analytics", "users.csv")

    analytics = folder(drive_emulator, gdrive_lake.root, "analytics")
    files = drive_emulator.children(analytics, trashed=True)
    live = [f for f in files if not f["labels"]["trashed"]]
    [old] = [f for f in files if f["labels"]["trashed"]]
    assert [f["title"] for f in files] == ["users.csv", "users.csv"]
    assert drive_emulator.content(live[0]["id"]) == b"custom_4,count\nCore User,2\n"
    log = [f"{r['method']} {r['target']}" for r in drive_emulator.requests[mark:]]
    uploads = [i for i, line in enumerate(log) if line.startswith("POST /upload/")]
    trash = log.index(f"POST /drive/v2/files/{old['id']}/trash?supportsAllDrives=true&alt=json")
    assert uploads[-1] < trash


def test_copies_stay_on_the_server(gdrive_lake: Lake, drive_emulator: DriveEmulator) -> None:
    with gdrive_lake.write_atomic("raw", f"{DAY}/part-00000.json") as out:
        out.write(b'{"a": 1}\n')
    mark = len(drive_emulator.requests)

    gdrive_lake.copy("raw", f"{DAY}/part-00000.json", "temp", f"{DAY}/raw/part-00000.json")

    assert len(drive_emulator.requests_matching("POST", "/copy", mark)) == 1
    assert drive_emulator.requests_matching("GET", "alt=media", mark) == []
    assert gdrive_lake.read_bytes("temp", f"{DAY}/raw/part-00000.json") == b'{"a": 1}\n'


def test_an_expired_token_is_refreshed(gdrive_lake: Lake, drive_emulator: DriveEmulator) -> None:
    gdrive_lake.ensure_zones()
    mark = len(drive_emulator.requests)
    drive_emulator.expire_tokens()

    assert gdrive_lake.list("raw") == []
    assert len(drive_emulator.requests_matching("POST", "/token", mark)) == 1


@pytest.mark.parametrize("style", ["authorized_user", "pydrive2_saved"])
def test_saved_oauth_credentials_work(
    gdrive_lake: Lake, drive_emulator: DriveEmulator, tmp_path: Path, monkeypatch, style: str
) -> None:
    user = drive_emulator.oauth_user()
    if style == "pydrive2_saved":  # what GoogleAuth.SaveCredentialsFile writes (oauth2client)
        saved = OAuth2Credentials(
            None, user["client_id"], user["client_secret"], user["refresh_token"], None,
            user["token_uri"], None,
        )  # fmt: skip
        user = json.loads(saved.to_json())
    path = tmp_path / "oauth.json"
    path.write_text(json.dumps(user))
    monkeypatch.setenv("PDBI_GDRIVE_CREDENTIALS", str(path))
    clear_caches()

    lake = get_lake()
    with lake.write_atomic("reports", "hello.txt") as out:
        out.write(b"hello")
    assert lake.read_bytes("reports", "hello.txt") == b"hello"


def test_unusable_credentials_fail_naming_the_setting_and_never_the_content(
    gdrive_lake: Lake, drive_emulator: DriveEmulator, tmp_path: Path, monkeypatch
) -> None:
    path = tmp_path / "not-a-key.json"
    path.write_text('{"private_key": "-----BEGIN FAKE SECRET 0xC0FFEE-----"}')
    monkeypatch.setenv("PDBI_GDRIVE_CREDENTIALS", str(path))
    clear_caches()
    with pytest.raises(ConfigError) as bad:
        get_lake().list("raw")
    assert "PDBI_GDRIVE_CREDENTIALS" in str(bad.value) and "C0FFEE" not in str(bad.value)

    stranger = drive_emulator.service_account("stranger@elsewhere.iam.gserviceaccount.com")
    del drive_emulator.public_keys[stranger["client_email"]]  # a key this Drive does not know
    path.write_text(json.dumps(stranger))
    clear_caches()
    with pytest.raises(ConfigError) as refused:
        get_lake().list("raw")
    assert "refused" in str(refused.value) and "PDBI_GDRIVE_CREDENTIALS" in str(refused.value)
    assert stranger["private_key_id"] not in str(refused.value)


def test_credentials_reach_no_log_no_output_and_no_lake_file(
    gdrive_lake: Lake,
    drive_emulator: DriveEmulator,
    drive_credentials: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    isolated_settings: Path,
) -> None:
    caplog.set_level(logging.DEBUG)
    drive_emulator.inject("503", times=1)  # a retry logs too
    gdrive_lake.ensure_zones()
    with gdrive_lake.write_atomic("raw", f"{DAY}/part-00000.json") as out:
        out.write(b'{"a": 1}\n')
    drive_emulator.expire_tokens()  # a refresh logs too
    gdrive_lake.read_bytes("raw", f"{DAY}/part-00000.json")

    key = json.loads(drive_credentials.read_text())
    pem_body = key["private_key"].splitlines()[5]
    secrets = [pem_body, key["private_key_id"], *drive_emulator.issued]
    out, err = capfd.readouterr()
    stored = b"".join(p.read_bytes() for p in drive_emulator.storage.iterdir() if p.is_file())
    titles = json.dumps(drive_emulator.search(None))
    local = b"".join(
        p.read_bytes()
        for p in isolated_settings.rglob("*")
        if p.is_file() and p != drive_credentials
    )
    assert "Retrying" in caplog.text or "try 2 of" in caplog.text
    for secret in secrets:
        assert secret not in caplog.text and secret not in out + err, "a secret was logged"
        assert secret.encode() not in stored + local and secret not in titles
