"""One lake module, four backends: a local folder, memory://, S3 (moto's server) and Google Drive
(the emulator), through the same calls. Expected values are the bytes the test wrote and their
MD5 computed here with hashlib."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from tasks.resources.lake import Lake

pytest_plugins = ["tests.lake_fixtures"]  # any_lake: local, memory://, S3 (moto), Drive (emulator)
DAY = "2017-11-16"


def test_files_round_trip_with_listing_sizes_and_checksums(any_lake: Lake) -> None:
    lake = any_lake
    files = {f"{DAY}/part-{i:05d}.json": f'{{"n": {i}}}\n'.encode() * (i + 1) for i in range(3)}
    files[f"{DAY}/notes.txt"] = "não é evento\n".encode()
    for name, data in files.items():
        with lake.write_atomic("raw", name) as out:
            out.write(data)

    parts = sorted(n for n in files if "part-" in n)
    assert lake.list("raw", f"{DAY}/part-*.json") == parts
    assert lake.sizes("raw", f"{DAY}/*") == {n: len(d) for n, d in files.items()}
    for name, data in files.items():
        assert lake.read_bytes("raw", name) == data
        assert lake.size("raw", name) == len(data)
        assert lake.fingerprint("raw", name) == (len(data), f"md5:{hashlib.md5(data).hexdigest()}")
    assert lake.exists("raw", parts[0]) and not lake.exists("raw", f"{DAY}/part-09999.json")
    assert lake.list("raw", "2017-11-17/*.json") == []


def test_copy_and_remove(any_lake: Lake) -> None:
    lake = any_lake
    with lake.write_atomic("raw", f"{DAY}/part-00000.json") as out:
        out.write(b'{"a": 1}\n')
    lake.copy("raw", f"{DAY}/part-00000.json", "temp", f"{DAY}/raw/part-00000.json")
    lake.remove("raw", f"{DAY}/part-00000.json")

    assert lake.read_bytes("temp", f"{DAY}/raw/part-00000.json") == b'{"a": 1}\n'
    assert not lake.exists("raw", f"{DAY}/part-00000.json")
    assert lake.list("raw", f"{DAY}/*") == []


def test_a_failed_write_leaves_the_previous_version(any_lake: Lake) -> None:
    lake = any_lake
    lake_write(lake, "users.csv", b"custom_4,count\nCore User,3\n")
    with pytest.raises(RuntimeError), lake.write_atomic("analytics", "users.csv") as out:
        out.write(b"custom_4,count\nhalf")
        raise RuntimeError("the job died mid-write")

    assert lake.read_bytes("analytics", "users.csv") == b"custom_4,count\nCore User,3\n"
    assert lake.list("analytics") == ["users.csv"]  # no temporary file left behind


def test_publishing_replaces_a_file_atomically_for_a_concurrent_reader(
    any_lake: Lake, tmp_path: Path
) -> None:
    """A reader polling while outputs are republished sees one whole version or the next,
    never a half-written file nor a missing one."""
    lake = any_lake
    versions = [f"country,count\n{'x' * (300_000 + 7 * v)},{v}\n".encode() for v in range(6)]
    local = tmp_path / "country.csv"
    local.write_bytes(versions[0])
    lake.publish_file(local, "analytics", "country.csv")
    seen: list[bytes] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            try:
                seen.append(lake.read_bytes("analytics", "country.csv"))
            except BaseException as exc:  # noqa: BLE001 - every failure is the finding
                errors.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for version in versions[1:]:
            local.write_bytes(version)
            lake.publish_file(local, "analytics", "country.csv")
    finally:
        done.set()
        thread.join()

    assert errors == []
    assert seen and all(content in versions for content in seen)
    assert lake.read_bytes("analytics", "country.csv") == versions[-1]
    assert lake.list("analytics") == ["country.csv"]


def test_local_paths_hands_spark_local_files(any_lake: Lake, tmp_path: Path) -> None:
    lake = any_lake
    lake_write(lake, "users.csv", b"custom_4,count\n")
    [path] = lake.local_paths("analytics", ["users.csv"], tmp_path / "scratch")
    assert Path(path).read_bytes() == b"custom_4,count\n"


def lake_write(lake: Lake, name: str, data: bytes) -> None:
    with lake.write_atomic("analytics", name) as out:
        out.write(data)


def test_a_local_file_unchanged_since_its_checksum_is_not_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from tasks.resources import lake as lake_module

    lake = Lake(str(tmp_path / "lake"))
    lake.ensure_zones()
    name, data = f"{DAY}/part-00000.json", b'{"n": 1}\n' * 1000
    with lake.write_atomic("raw", name) as out:
        out.write(data)
    path = Path(lake.path("raw", name))
    os.utime(path, (1e9, 1e9))  # written long ago: not racy
    expected = (len(data), f"md5:{hashlib.md5(data).hexdigest()}")
    assert lake.fingerprint("raw", name) == expected
    opened: list[str] = []
    real_open = Lake.open
    monkeypatch.setattr(
        Lake, "open", lambda self, *a, **k: opened.append(a[1]) or real_open(self, *a, **k)
    )
    lake_module._local_checksums.cache_clear()  # a new process: the cache is read from disk
    assert lake.fingerprint("raw", name) == expected
    assert opened == []
    same_size = b'{"n": 2}\n' * 1000
    path.write_bytes(same_size)
    os.utime(path, (2e9 - 1, 2e9 - 1))  # rewritten later, at a later mtime
    assert lake.fingerprint("raw", name) == (len(data), f"md5:{hashlib.md5(same_size).hexdigest()}")
    assert opened == [name]


def test_a_file_modified_just_now_is_hashed_every_time(tmp_path: Path) -> None:
    from tasks.resources import lake as lake_module

    lake = Lake(str(tmp_path / "lake"))
    lake.ensure_zones()
    with lake.write_atomic("raw", "a.json") as out:
        out.write(b"[1]")
    lake.fingerprint("raw", "a.json")
    cache = lake_module._local_checksums(tmp_path / "data")
    assert cache.entries == {}  # within the racy window: a same-size rewrite could hide
