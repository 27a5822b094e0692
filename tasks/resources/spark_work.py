"""Spark's working area: URLs every executor reaches, and the driver's own access to them.

Spark reads and writes only URLs that mean the same on every node: `file://` on a folder all
nodes mount, or an object store (`s3a://`, `gs://`, `abfss://`) once its connector jars are on
Spark's class path. The driver reaches the same URLs through fsspec, to write the small files it
computes itself (the keyed CSVs, the manifest, the quarantine lines), to concatenate the ordered
part files Spark wrote into one CSV, and to stage inputs and publish outputs between the working
area and the lake. Nothing Spark writes is renamed: parts are read and copied, then removed.

Imports nothing of pdbi but the errors, so the job runs under spark-submit with its package.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import fsspec
from fsspec.core import url_to_fs

COPY_CHUNK = 1 << 20


def as_url(location: str | Path) -> str:
    """A URL for Spark and fsspec alike: a local path becomes `file:///absolute/path`, as
    written (Hadoop's Path quotes what a URI needs itself, and a glob must stay a glob)."""
    text = str(location)
    if "://" in text:
        return text.rstrip("/")
    return f"file://{Path(text).resolve()}"


def join(url: str, *names: str) -> str:
    return "/".join([url.rstrip("/"), *(n.strip("/") for n in names)])


@dataclass(frozen=True)
class Written:
    """A file the driver wrote or assembled: where, its data rows, bytes and sha256."""

    url: str
    rows: int
    bytes: int
    sha256: str

    def entry(self) -> dict[str, Any]:
        return {"path": self.url, "rows": self.rows, "bytes": self.bytes, "sha256": self.sha256}


class WorkFiles:
    """fsspec access to URLs under one working area (options: the storage options of a URL
    with a scheme other than file://, e.g. an S3 endpoint)."""

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        self.options = options or {}

    def fs(self, url: str) -> tuple[fsspec.AbstractFileSystem, str]:
        options = {} if url.startswith("file://") else self.options
        return url_to_fs(url, **options)

    @contextmanager
    def open(self, url: str, mode: str = "rb") -> Iterator[IO[bytes]]:
        fs, path = self.fs(url)
        if "w" in mode:
            fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        with fs.open(path, mode) as handle:
            yield handle

    def write_bytes(self, url: str, data: bytes, rows: int) -> Written:
        with self.open(url, "wb") as out:
            out.write(data)
        return Written(url, rows, len(data), hashlib.sha256(data).hexdigest())

    def parts(self, folder: str) -> list[str]:
        """The part files Spark wrote into `folder` (paths of its filesystem), in partition
        order: part-00000 first; Hadoop's .crc side files and _SUCCESS left out."""
        fs, path = self.fs(folder)
        found = fs.glob(f"{path.rstrip('/')}/part-*")
        return sorted(p for p in found if not p.endswith(".crc"))

    def concatenate(self, folder: str, target: str, header: bytes, rows: int) -> Written:
        """`header`, then every part file of `folder` in order, streamed into `target`; the
        sha256 is taken on the way. The parts folder is removed afterwards."""
        digest, size = hashlib.sha256(header), len(header)
        fs, _ = self.fs(folder)
        with self.open(target, "wb") as out:
            out.write(header)
            for part in self.parts(folder):
                with fs.open(part, "rb") as src:
                    while chunk := src.read(COPY_CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
        self.remove(folder)
        return Written(target, rows, size, digest.hexdigest())

    def remove(self, url: str) -> None:
        fs, path = self.fs(url)
        if fs.exists(path):
            fs.rm(path, recursive=True)

    def exists(self, url: str) -> bool:
        fs, path = self.fs(url)
        return fs.exists(path)

    def copy_from(self, source: IO[bytes], url: str) -> None:
        """Stream an open file (a lake file being staged) to a URL of the working area."""
        with self.open(url, "wb") as out:
            shutil.copyfileobj(source, out, length=COPY_CHUNK)

    def listing(self, folder: str, pattern: str = "*") -> dict[str, int]:
        """Name -> size of the files matching `pattern` directly under `folder`."""
        fs, path = self.fs(folder)
        if not fs.exists(path):
            return {}
        found = fs.glob(f"{path.rstrip('/')}/{pattern}", detail=True)
        return {
            p.rsplit("/", 1)[-1]: int(info.get("size") or 0)
            for p, info in found.items()
            if info.get("type") != "directory"
        }
