"""The data lake: the only module that opens lake files.

The lake is a root URL (a local folder by default, any fsspec URL otherwise) with one folder per
zone. Callers name a zone and a file; this module turns that into paths, and publishes outputs
atomically (write under a temporary name, then rename) so that readers never see half a file.
"""

from __future__ import annotations

import shutil
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

ZONES = ("raw", "transactional", "analytics", "temp", "quarantine", "reports")


class Lake:
    """A lake root on some fsspec filesystem, addressed by (zone, name)."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.fs, self.root = url_to_fs(url)
        except (ValueError, ImportError) as exc:
            raise ConfigError(
                f"PDBI_LAKE_URL={url!r} cannot be opened ({exc}); use a local folder or an fsspec "
                "URL such as s3://bucket/lake or memory://lake, and install the backend's package."
            ) from None
        self.root = self.root.rstrip("/")
        self.is_local = "file" in _protocols(self.fs)

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
        base = self.path(zone)
        found = self.fs.glob(f"{base}/{pattern}")
        names = [
            p[len(_strip(self.fs, base)) + 1 :] for p in map(lambda p: _strip(self.fs, p), found)
        ]
        return sorted(n for n in names if n and not self.fs.isdir(self.path(zone, n)))

    def exists(self, zone: str, name: str) -> bool:
        return self.fs.exists(self.path(zone, name))

    def size(self, zone: str, name: str) -> int:
        return int(self.fs.size(self.path(zone, name)))

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
        with self.open(zone, name) as handle:
            return handle.read()

    def copy(self, zone: str, name: str, to_zone: str, to_name: str) -> None:
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


def _protocols(fs: fsspec.AbstractFileSystem) -> tuple[str, ...]:
    proto = fs.protocol
    return (proto,) if isinstance(proto, str) else tuple(proto)


def _strip(fs: fsspec.AbstractFileSystem, path: str) -> str:
    return fs._strip_protocol(path).rstrip("/")


@lru_cache(maxsize=8)
def _lake_for(url: str) -> Lake:
    return Lake(url)


def get_lake() -> Lake:
    """The lake named by PDBI_LAKE_URL."""
    return _lake_for(get_settings().lake_url)
