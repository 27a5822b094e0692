"""The data lake: the only module that opens lake files.

The lake is a root URL (a local folder by default, any fsspec URL otherwise: s3://, memory://,
gdrive://<root-folder-id> through tasks/resources/gdrive.py) with one folder per zone. Callers
name a zone and a file; this module turns that into paths, and publishes outputs atomically
(write under a temporary name, then rename; on Drive, upload the new file, then trash the old)
so that readers never see half a file or none.
"""

from __future__ import annotations

import errno
import hashlib
import json
import re
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import IO

import fsspec
from fsspec.core import url_to_fs

from tasks.errors import ConfigError
from tasks.settings import get_settings

ZONES = ("raw", "transactional", "analytics", "temp", "quarantine", "reports", "validated")
_MD5 = re.compile(r"[0-9a-f]{32}")

# Drive: our own filesystem on pydrive2 (fsspec's built-in entry names a package pdbi doesn't use)
fsspec.register_implementation("gdrive", "tasks.resources.gdrive.DriveFileSystem", clobber=True)


class Lake:
    """A lake root on some fsspec filesystem, addressed by (zone, name)."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.fs, self.root = url_to_fs(url, **_storage_options(url))
        except (ValueError, ImportError, TypeError) as exc:
            raise ConfigError(
                f"PDBI_LAKE_URL={url!r} cannot be opened ({exc}); use a local folder or an fsspec "
                "URL such as s3://bucket/lake or memory://lake, and install the backend's package."
            ) from None
        self.root = self.root.rstrip("/")
        self.is_local = "file" in _protocols(self.fs)
        # Drive's uploads appear whole or not at all: a write needs no temporary name
        self.atomic_writes = "gdrive" in _protocols(self.fs)

    def path(self, zone: str, name: str = "") -> str:
        if zone not in ZONES:
            raise ValueError(f"unknown lake zone {zone!r}; zones are {', '.join(ZONES)}")
        base = f"{self.root}/{zone}"
        return f"{base}/{name}" if name else base

    def ensure_zones(self) -> None:
        for zone in ZONES:
            self.fs.makedirs(self.path(zone), exist_ok=True)

    def list(self, zone: str, pattern: str = "*") -> list[str]:
        """Names (relative to the zone) of the files matching a glob, sorted."""
        return sorted(self.sizes(zone, pattern))

    def sizes(self, zone: str, pattern: str = "*") -> dict[str, int]:
        """Name -> size of the files matching a glob, from one listing (no call per file)."""
        base = _strip(self.fs, self.path(zone))
        self.fs.invalidate_cache(base)  # s3fs & co. cache listings; other writers add files
        found = self.fs.glob(f"{base}/{pattern}", detail=True)
        return {
            _strip(self.fs, path)[len(base) + 1 :]: int(info.get("size") or 0)
            for path, info in found.items()
            if info.get("type") != "directory" and len(_strip(self.fs, path)) > len(base) + 1
        }

    def exists(self, zone: str, name: str) -> bool:
        return self.fs.exists(self.path(zone, name))

    def size(self, zone: str, name: str) -> int:
        return int(self.fs.size(self.path(zone, name)))

    def fingerprint(self, zone: str, name: str) -> tuple[int, str]:
        """(size, checksum) of a file: the backend's own MD5 when it keeps one (Drive's
        md5Checksum, the ETag of a single-part S3 upload), else an MD5 computed by streaming."""
        info = self.fs.info(self.path(zone, name))
        size = int(info["size"])
        if info.get("md5Checksum"):
            return size, f"md5:{info['md5Checksum']}"
        etag = str(info.get("ETag") or info.get("etag") or "").strip('"')
        if etag:
            return size, f"md5:{etag}" if _MD5.fullmatch(etag) else f"etag:{etag}"
        if self.is_local:  # a file whose size and mtime are unchanged is not read again
            stat = (size, float(info["mtime"]))
            cache = _local_checksums(get_settings().data_dir)
            if (known := cache.get(self.path(zone, name), stat)) is not None:
                return size, known
        digest = hashlib.md5(usedforsecurity=False)
        with self.open(zone, name) as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        checksum = f"md5:{digest.hexdigest()}"
        if self.is_local:
            cache.put(self.path(zone, name), stat, checksum)
        return size, checksum

    def remove(self, zone: str, name: str) -> None:
        """Delete one file (on Drive: move it to the trash)."""
        self.fs.rm(self.path(zone, name))

    @contextmanager
    def open(self, zone: str, name: str, mode: str = "rb") -> Iterator[IO]:
        """Open a lake file for reading, or for writing in place (callers that need atomic
        replacement use `write_atomic`)."""
        if "w" in mode:
            self.fs.makedirs(self.path(zone, name).rsplit("/", 1)[0], exist_ok=True)
        with self.fs.open(self.path(zone, name), mode) as handle:
            yield handle

    @contextmanager
    def write_atomic(self, zone: str, name: str) -> Iterator[IO[bytes]]:
        """Write to a temporary name beside the target, then rename over it."""
        target = self.path(zone, name)
        folder, base = target.rsplit("/", 1)
        if self.atomic_writes:
            with self.fs.open(target, "wb") as handle:  # discarded if the block raises
                yield handle
            return
        self.fs.makedirs(folder, exist_ok=True)
        temp = f"{folder}/.{base}.tmp-{uuid.uuid4().hex[:8]}"
        try:
            with self.fs.open(temp, "wb") as handle:
                yield handle
            self.fs.mv(temp, target)
        finally:
            if self.fs.exists(temp):
                self.fs.rm(temp)

    def publish_file(self, local_file: Path, zone: str, name: str) -> None:
        """Copy a local file into the lake, replacing any previous version atomically."""
        with self.write_atomic(zone, name) as out, open(local_file, "rb") as src:
            shutil.copyfileobj(src, out, length=1 << 20)

    def read_bytes(self, zone: str, name: str) -> bytes:
        """The whole file. Replaced while being read, it is read again: S3 refuses to mix two
        versions in one read (s3fs's FileExpired, errno EBUSY), so a reader gets one whole."""
        for attempt in range(1, 4):
            try:
                with self.open(zone, name) as handle:
                    return handle.read()
            except OSError as exc:
                if exc.errno != errno.EBUSY or attempt == 3:
                    raise
                self.fs.invalidate_cache(self.path(zone, name))
        raise AssertionError("unreachable")  # pragma: no cover

    def copy(self, zone: str, name: str, to_zone: str, to_name: str) -> None:
        """Copy within the lake; on Drive a server-side copy, no bytes through this machine."""
        if self.atomic_writes:
            self.fs.cp_file(self.path(zone, name), self.path(to_zone, to_name))
            return
        with self.open(zone, name) as src, self.write_atomic(to_zone, to_name) as dst:
            shutil.copyfileobj(src, dst, length=1 << 20)

    def local_paths(self, zone: str, names: list[str], scratch: Path) -> list[str]:
        """Paths a local engine (Spark) can read: the files themselves on a local lake,
        otherwise copies streamed into `scratch`."""
        if self.is_local:
            return [self.path(zone, n) for n in names]
        scratch.mkdir(parents=True, exist_ok=True)
        paths = []
        for name in names:
            local = scratch / zone / name
            local.parent.mkdir(parents=True, exist_ok=True)
            with self.open(zone, name) as src, open(local, "wb") as dst:
                shutil.copyfileobj(src, dst, length=1 << 20)
            paths.append(str(local))
        return paths


def _storage_options(url: str) -> dict:
    """PDBI_LAKE_OPTIONS for URLs with a scheme; a gdrive:// lake reads its own settings."""
    if "://" not in url or url.startswith(("gdrive://", "file://")):
        return {}
    return dict(get_settings().lake_options)


def _protocols(fs: fsspec.AbstractFileSystem) -> tuple[str, ...]:
    proto = fs.protocol
    return (proto,) if isinstance(proto, str) else tuple(proto)


def _strip(fs: fsspec.AbstractFileSystem, path: str) -> str:
    return fs._strip_protocol(path).rstrip("/")


class ChecksumCache:
    """MD5s of local lake files by (size, mtime), as git's index keeps them: a rerun does not
    read gigabytes again to learn that nothing changed. Kept in the data folder (a rewrite in
    place changes the mtime; a cache lost or corrupt only costs the reads). Like git's "racy"
    rule, a file modified in the last seconds is not remembered: the clock that stamps mtimes
    ticks coarsely, and a same-size rewrite within one tick would look unchanged."""

    RACY_SECONDS = 3.0

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        try:
            self.entries: dict[str, list] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.entries = {}

    def get(self, key: str, stat: tuple[int, float]) -> str | None:
        entry = self.entries.get(key)
        return entry[2] if entry and (entry[0], entry[1]) == stat else None

    def put(self, key: str, stat: tuple[int, float], checksum: str) -> None:
        if time.time() - stat[1] < self.RACY_SECONDS:
            return
        with self.lock:
            self.entries[key] = [*stat, checksum]
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}")
            temp.write_text(json.dumps(self.entries), encoding="utf-8")
            temp.replace(self.path)


@lru_cache(maxsize=8)
def _local_checksums(data_dir: Path) -> ChecksumCache:
    return ChecksumCache(data_dir / "lake-checksums.json")


@lru_cache(maxsize=8)
def _lake_for(url: str) -> Lake:
    return Lake(url)


def get_lake() -> Lake:
    """The lake named by PDBI_LAKE_URL."""
    return _lake_for(get_settings().lake_url)
