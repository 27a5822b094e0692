"""`gdrive://<root-folder-id>/...`: Google Drive as an fsspec filesystem, built on pydrive2.

Drive has ids, not paths: a path is resolved folder by folder, by title, from the root folder id
(folder ids are cached; a file's entry is trusted for ENTRY_SECONDS after a listing saw it, so
opening a file just listed costs one download, not another query). Drive's habits:
- a listing longer than a page is followed to its end;
- several files may share a title in one folder: the newest (modifiedDate) wins and a warning
  names the others; same-titled folders are read as one, new files going to the oldest;
- trashed files and Google-native documents (Docs, Sheets: no bytes to read) are ignored;
- a write uploads a new file and then trashes the ones it replaces, so a reader sees the old
  version or the new one, never a half-written or a missing file.
Writes are spooled to a local temporary file (in memory up to one chunk) and uploaded on close;
reads are ranged downloads of one chunk at a time.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from fsspec.spec import AbstractFileSystem
from pydantic import SecretStr

from tasks.resources import gdrive_api
from tasks.resources.gdrive_api import DriveOptions, call
from tasks.resources.gdrive_files import DriveReadFile, DriveWriteFile

FOLDER = "application/vnd.google-apps.folder"
GOOGLE_NATIVE = "application/vnd.google-apps."
# A replaced file read within this window after its listing comes in its previous version (whole:
# Drive keeps a trashed file's bytes); own writes forget the entry at once.
ENTRY_SECONDS = 10.0
logger = logging.getLogger(__name__)


class DriveFileSystem(AbstractFileSystem):
    protocol = "gdrive"
    root_marker = ""
    cachable = False  # instances hold credentials; the lake module keeps one per URL

    def __init__(
        self,
        credentials: SecretStr | None = None,
        options: DriveOptions | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.options = options or DriveOptions.from_settings()
        self._credentials = credentials
        self._drive: Any = None
        self._lock = threading.RLock()
        self._create_lock = threading.Lock()
        self._folders: dict[str, list[str]] = {}
        self._seen: dict[str, tuple[float, dict[str, Any]]] = {}  # path -> (when, entry)
        self._writing: dict[str, int] = {}  # path -> writes in progress in this process
        self._changed: dict[str, float] = {}  # path -> when this process last changed it
        self._local = threading.local()
        self._files_api: Any = None
        self._warned: set[tuple[str, ...]] = set()

    @classmethod
    def _strip_protocol(cls, path: str) -> str:
        path = path[len("gdrive://") :] if path.startswith("gdrive://") else path
        return path.strip("/")

    @property
    def drive(self) -> Any:
        """The pydrive2 client, authorized on first use (credentials read then, not before)."""
        with self._lock:
            if self._drive is None:
                credentials = self._credentials or gdrive_api.configured_credentials()
                self._drive = gdrive_api.authorize(credentials, self.options)
            return self._drive

    @property
    def files_api(self) -> Any:
        """The `files` resource of pydrive2's service, built once: googleapiclient builds its
        19 methods from the discovery document on every `service.files()` (about 30 ms)."""
        with self._lock:
            if self._files_api is None:
                self._files_api = self.drive.auth.service.files()
            return self._files_api

    def _remember(self, entries: list[dict[str, Any]], started: float) -> None:
        """Keep entries a listing begun at `started` saw, unless this process changed their
        path since (or is changing it): a process always reads its own writes."""
        with self._lock:
            for e in entries:
                name = e["name"]
                fresh = self._changed.get(name, -1.0) < started and name not in self._writing
                if e["type"] == "file" and fresh:
                    self._seen[name] = (started, e)

    @contextmanager
    def _changing(self, *paths: str) -> Iterator[None]:
        names = [self._strip_protocol(p) for p in paths]
        with self._lock:
            for name in names:
                self._writing[name] = self._writing.get(name, 0) + 1
                self._seen.pop(name, None)
        try:
            yield
        finally:
            with self._lock:
                for name in names:
                    self._writing[name] -= 1
                    if not self._writing[name]:
                        del self._writing[name]
                    self._changed[name] = time.monotonic()
                    self._seen.pop(name, None)

    def _http(self) -> Any:
        """An authorized httplib2.Http per thread: httplib2 is not thread-safe."""
        if getattr(self._local, "http", None) is None:
            self._local.http = self.drive.auth.Get_Http_Object()
        return self._local.http

    # --- resolving paths ------------------------------------------------------------------

    def _children(self, parent_ids: list[str], title: str | None = None) -> list[dict[str, Any]]:
        """Every untrashed item under these folders (optionally of one title), all pages."""
        parents = " or ".join(f"'{p}' in parents" for p in parent_ids)
        query = f"({parents}) and trashed = false"
        if title is not None:
            query += " and title = '{}'".format(title.replace("\\", "\\\\").replace("'", "\\'"))
        listing = self.drive.ListFile({"q": query, "maxResults": self.options.page_size})
        items: list[dict[str, Any]] = []
        while True:
            page = call(self.options, f"list {parents}", lambda: next(listing, None))
            if page is None:
                break
            items.extend(page)
        return [
            dict(item)
            for item in items
            if not item.get("labels", {}).get("trashed")
            and (title is None or item["title"] == title)  # Drive compares titles loosely
            and (item["mimeType"] == FOLDER or not item["mimeType"].startswith(GOOGLE_NATIVE))
        ]

    def _folder_ids(self, path: str, create: bool = False) -> list[str]:
        """Ids of the folder(s) at path, oldest first; [] when missing and not created."""
        path = self._strip_protocol(path)
        with self._lock:
            if path in self._folders:
                return self._folders[path]
        if "/" not in path:
            return [path]  # the root folder id itself
        parent, title = path.rsplit("/", 1)
        parent_ids = self._folder_ids(parent, create)
        if not parent_ids:
            return []
        ids = self._subfolders(parent_ids, title)
        if not ids and create:
            with self._create_lock:  # one creator per process: no duplicate from a race here
                ids = self._subfolders(parent_ids, title)
                if not ids:
                    body = {"title": title, "mimeType": FOLDER, "parents": [{"id": parent_ids[0]}]}
                    folder = self.drive.CreateFile(body)
                    call(self.options, f"create folder {path}", folder.Upload)
                    ids = [folder["id"]]
        if not ids:
            return []
        with self._lock:
            return self._folders.setdefault(path, ids)

    def _subfolders(self, parent_ids: list[str], title: str) -> list[str]:
        found = [i for i in self._children(parent_ids, title) if i["mimeType"] == FOLDER]
        return [i["id"] for i in sorted(found, key=lambda i: (i["createdDate"], i["id"]))]

    def _entries(self, folder: str, items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """One fsspec entry per title: folders merged, files newest first."""
        by_title: dict[str, list[dict[str, Any]]] = {}
        for item in items:
            by_title.setdefault(item["title"], []).append(item)
        entries = {}
        for title, group in by_title.items():
            name = f"{folder}/{title}"
            folders = [i for i in group if i["mimeType"] == FOLDER]
            if folders:
                entries[title] = {"name": name, "type": "directory", "size": 0}
                continue
            group.sort(key=lambda i: (i["modifiedDate"], i["createdDate"], i["id"]), reverse=True)
            self._warn_duplicates(name, group)
            entries[title] = _file_entry(name, group)
        return entries

    def _warn_duplicates(self, name: str, group: list[dict[str, Any]]) -> None:
        key = tuple(i["id"] for i in group)
        if len(group) < 2 or key in self._warned:
            return
        self._warned.add(key)
        others = ", ".join(f"{i['id']} (modified {i['modifiedDate']})" for i in group[1:])
        logger.warning(
            "gdrive://%s: %d files share this title; using the newest, %s (modified %s), "
            "ignoring %s",
            name,
            len(group),
            group[0]["id"],
            group[0]["modifiedDate"],
            others,
        )

    # --- the fsspec interface -------------------------------------------------------------

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list:
        path, started = self._strip_protocol(path), time.monotonic()
        ids = self._folder_ids(path)
        if not ids:
            entry = self.info(path)  # a file lists as itself, as fsspec expects
            return [entry if detail else entry["name"]]
        entries = sorted(self._entries(path, self._children(ids)).values(), key=lambda e: e["name"])
        self._remember(entries, started)
        return entries if detail else [e["name"] for e in entries]

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        path = self._strip_protocol(path)
        if "/" not in path:
            return {"name": path, "type": "directory", "size": 0}
        parent, title = path.rsplit("/", 1)
        with self._lock:
            if path in self._folders:
                return {"name": path, "type": "directory", "size": 0}
            seen, entry = self._seen.get(path, (0.0, None))
        started = time.monotonic()
        if entry is not None and started - seen < ENTRY_SECONDS:
            return entry
        parent_ids = self._folder_ids(parent)
        found = self._children(parent_ids, title) if parent_ids else []
        entry = self._entries(parent, found).get(title)
        if entry is None:
            raise FileNotFoundError(f"gdrive://{path}")
        self._remember([entry], started)
        return entry

    def exists(self, path: str, **kwargs: Any) -> bool:
        """Only a missing file is False: Drive being down must not read as 'no file'."""
        try:
            self.info(path)
        except FileNotFoundError:
            return False
        return True

    def modified(self, path: str) -> datetime:
        return datetime.fromisoformat(self.info(path)["modifiedDate"].replace("Z", "+00:00"))

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        self._folder_ids(path, create=True)

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        self._folder_ids(path, create=True)

    def rmdir(self, path: str) -> None:
        path = self._strip_protocol(path)
        for folder_id in self._folder_ids(path):
            self._trash(folder_id)
        with self._lock:
            for cached in [p for p in self._folders if p == path or p.startswith(path + "/")]:
                del self._folders[cached]

    def rm_file(self, path: str) -> None:
        with self._changing(path):
            for file_id in self.info(path).get("ids", []):
                self._trash(file_id)

    def _rm(self, path: str) -> None:
        if self.info(path)["type"] == "directory":
            self.rmdir(path)
        else:
            self.rm_file(path)

    def mv(self, path1: str, path2: str, recursive: bool = False, **kwargs: Any) -> None:
        """Rename in place (one metadata patch), then trash what the target replaced."""
        with self._changing(path1, path2):
            self._rename(path1, path2)

    def _rename(self, path1: str, path2: str) -> None:
        source = self.info(path1)
        folder, title = self._strip_protocol(path2).rsplit("/", 1)
        target_ids = self._folder_ids(folder, create=True)
        replaced = self._replaced(target_ids, title, keep=source["id"])
        item = self.drive.CreateFile({"id": source["id"]})
        item["title"] = title
        old_folder = self._strip_protocol(path1).rsplit("/", 1)[0]
        param = None
        if old_folder != folder:
            old_ids = ",".join(self._folder_ids(old_folder))
            param = {"addParents": target_ids[0], "removeParents": old_ids}
        call(self.options, f"rename {path1} to {title}", lambda: item.Upload(param=param))
        for file_id in replaced:
            self._trash(file_id)

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        """A server-side copy (no bytes through this machine), then trash what it replaced."""
        with self._changing(path2):
            self._copy(path1, path2)

    def _copy(self, path1: str, path2: str) -> None:
        source = self.info(path1)
        folder, title = self._strip_protocol(path2).rsplit("/", 1)
        target_ids = self._folder_ids(folder, create=True)
        replaced = self._replaced(target_ids, title)
        item = self.drive.CreateFile({"id": source["id"]})
        call(self.options, f"copy {path1}", lambda: item.Copy({"id": target_ids[0]}, title))
        for file_id in replaced:
            self._trash(file_id)

    def _open(self, path: str, mode: str = "rb", block_size: Any = None, **kwargs: Any) -> Any:
        if mode == "rb":
            entry = self.info(path)
            if entry["type"] != "file":
                raise IsADirectoryError(f"gdrive://{self._strip_protocol(path)}")
            return DriveReadFile(self, path, entry, self.options.chunk_bytes)
        if mode == "wb":
            return DriveWriteFile(self, self._strip_protocol(path))
        raise ValueError(f"gdrive:// files open as 'rb' or 'wb', not {mode!r}")

    # --- writing --------------------------------------------------------------------------

    def put_stream(self, path: str, stream: io.IOBase, size: int) -> dict[str, Any]:
        """Upload a new file at path, then trash the ones it replaces (newest wins meanwhile)."""
        folder, title = self._strip_protocol(path).rsplit("/", 1)
        with self._changing(path):
            parent_ids = self._folder_ids(folder, create=True)
            replaced = self._replaced(parent_ids, title)
            body = {"title": title, "parents": [{"id": parent_ids[0]}]}
            meta = gdrive_api.upload(self.files_api, self._http(), self.options, body, stream, size)
            for file_id in replaced:
                if file_id != meta["id"]:
                    self._trash(file_id)
        return meta

    def _replaced(self, parent_ids: list[str], title: str, keep: str = "") -> list[str]:
        return [
            i["id"]
            for i in self._children(parent_ids, title)
            if i["mimeType"] != FOLDER and i["id"] != keep
        ]

    def _trash(self, file_id: str) -> None:
        item = self.drive.CreateFile({"id": file_id})
        call(self.options, f"trash {file_id}", item.Trash)

    def read_range(self, file_id: str, start: int, end: int) -> bytes:
        return gdrive_api.read_range(
            self.files_api, self._http(), self.options, file_id, start, end
        )


def _file_entry(name: str, group: list[dict[str, Any]]) -> dict[str, Any]:
    newest = group[0]
    return {
        "name": name,
        "type": "file",
        "size": int(newest.get("fileSize") or 0),
        "id": newest["id"],
        "ids": [i["id"] for i in group],  # every same-titled copy, for rm
        "md5Checksum": newest.get("md5Checksum"),
        "modifiedDate": newest["modifiedDate"],
        "mimeType": newest["mimeType"],
    }
