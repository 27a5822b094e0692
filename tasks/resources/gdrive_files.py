"""The file objects of gdrive:// (tasks/resources/gdrive.py): reads as ranged downloads, writes
spooled locally and uploaded on close. Neither holds a whole large file in memory."""

from __future__ import annotations

import io
import tempfile
from typing import Any, Protocol

from fsspec.spec import AbstractBufferedFile

from tasks.resources.gdrive_api import DriveOptions


class DriveTransfers(Protocol):
    """What the file objects need of gdrive.DriveFileSystem: declared here so that this module
    does not import the filesystem that imports it."""

    options: DriveOptions

    def read_range(self, file_id: str, start: int, end: int) -> bytes: ...

    def put_stream(self, path: str, stream: io.IOBase, size: int) -> dict[str, Any]: ...


class DriveReadFile(AbstractBufferedFile):
    """Reads as ranged downloads of one chunk each, with fsspec's read-ahead cache: seekable
    (Parquet needs it) and never holding more than a chunk or two."""

    def __init__(self, fs: DriveTransfers, path: str, entry: dict[str, Any], block: int) -> None:
        super().__init__(fs, path, mode="rb", block_size=block, size=entry["size"])
        self.file_id = entry["id"]

    def _fetch_range(self, start: int, end: int) -> bytes:
        """One request per chunk, so a retry repeats a chunk, not a whole large read."""
        end, step = min(end, self.size), self.blocksize
        parts = [
            self.fs.read_range(self.file_id, i, min(i + step, end)) for i in range(start, end, step)
        ]
        return b"".join(parts)


class DriveWriteFile(io.RawIOBase):
    """Spools writes (in memory up to a chunk, then on local disk) and uploads on close; a
    `with` block that raises uploads nothing."""

    def __init__(self, fs: DriveTransfers, path: str) -> None:
        super().__init__()
        self.fs, self.path = fs, path
        self._spool = tempfile.SpooledTemporaryFile(max_size=fs.options.chunk_bytes)  # noqa: SIM115

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return self._spool.write(data)

    def tell(self) -> int:
        return self._spool.tell()

    def close(self) -> None:
        if self.closed:
            return
        try:
            size = self._spool.seek(0, io.SEEK_END)
            self._spool.seek(0)
            self.fs.put_stream(self.path, self._spool, size)
        finally:
            self._spool.close()
            super().close()

    def discard(self) -> None:
        self._spool.close()
        super().close()

    def __exit__(self, exc_type: Any, *rest: Any) -> None:
        if exc_type is not None:
            self.discard()
        else:
            self.close()
