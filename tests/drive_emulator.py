"""A local emulator of the Google Drive v2 HTTP API, for tests and benchmarks.

It serves what pydrive2 and googleapiclient use: files.list with `q` and paging, files.get,
media download with Range, metadata insert, multipart and resumable upload (with the status
query a client sends after a failed chunk), update, patch, copy, trash, untrash, delete, and an
OAuth token endpoint that checks service-account JWTs (RS256) and refresh tokens. Every API call
needs a token it issued. Contents live on disk, so a benchmark of a gigabyte does not live in RAM.

Faults are injected per request: `inject("429" | "500" | "503" | "drop" | "slow" | "late",
times, match)`.
Point a client at it with `api_endpoint` (googleapiclient's client_options) and `token_uri`.
"""

from __future__ import annotations

import itertools
import os
import random
import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.drive_handler import DriveHandler, Upload, digest
from tests.drive_query import parse_query

FOLDER = "application/vnd.google-apps.folder"


@dataclass
class Fault:
    # "429", "500", "503": that status; "drop": close without an answer; "slow": wait, then
    # work and answer; "late": work, then wait before answering (the client already gave up)
    kind: str
    times: int  # how many matching requests it hits; -1 for every one
    match: str = ""  # substring of "METHOD /path?query Range Content-Range"
    delay: float = 0.0  # for "slow"
    hits: int = 0


class DriveEmulator:
    """State and control of the emulated Drive; the HTTP side is tests/drive_handler.py."""

    def __init__(self, storage: Path | None = None, page_limit: int = 1000) -> None:
        self._own_storage = storage is None
        self.storage = storage or Path(tempfile.mkdtemp(prefix="drive-emulator-"))
        self.storage.mkdir(parents=True, exist_ok=True)
        self.page_limit = page_limit
        self.lock = threading.RLock()
        self.files: dict[str, dict[str, Any]] = {}
        self.uploads: dict[str, Upload] = {}
        self.faults: list[Fault] = []
        self.random_faults: tuple[random.Random, float, tuple[str, ...]] | None = None
        self.dealt: list[Fault] = []
        self.requests: list[dict[str, Any]] = []
        self.tokens: dict[str, float] = {}  # access token -> expiry (epoch seconds)
        self.issued: list[str] = []  # every access token ever granted (tests look for leaks)
        self.public_keys: dict[str, Any] = {}  # service account email -> RSA public key
        self.refresh_tokens: dict[str, tuple[str, str]] = {}  # -> (client_id, client_secret)
        self.token_lifetime = 3600
        self._ids = itertools.count(1)
        self._last_stamp = datetime.now(UTC)
        self.server: ThreadingHTTPServer | None = None
        self.add_folder("My Drive", file_id="root", parent=None)

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> DriveEmulator:
        handler = type("BoundDriveHandler", (DriveHandler,), {"emulator": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        if self._own_storage:
            shutil.rmtree(self.storage, ignore_errors=True)

    @property
    def url(self) -> str:
        assert self.server is not None, "start() the emulator first"
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def api_endpoint(self) -> str:
        return f"{self.url}/drive/v2/"

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    # --- faults and the request log -------------------------------------------------------

    def inject(self, kind: str, times: int = 1, match: str = "", delay: float = 0.0) -> Fault:
        fault = Fault(kind, times, match, delay)
        with self.lock:
            self.faults.append(fault)
        return fault

    def inject_random(self, rate: float, kinds: tuple[str, ...], seed: int) -> list[Fault]:
        """From now on, each request fails with probability `rate`, in a kind drawn from
        `kinds`, by a seeded generator (the draws repeat; which request gets one depends on the
        order the client's threads send them). Returns the faults dealt, as they are dealt."""
        with self.lock:
            self.random_faults = (random.Random(seed), rate, kinds)
            self.dealt = []
            return self.dealt

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()
            self.random_faults = None

    def take_fault(self, request_line: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.times != 0 and fault.match in request_line:
                    fault.times -= 1 if fault.times > 0 else 0
                    fault.hits += 1
                    return fault
            if self.random_faults is not None:
                rng, rate, kinds = self.random_faults
                if rng.random() < rate:
                    fault = Fault(rng.choice(kinds), 0, request_line, hits=1)
                    self.dealt.append(fault)
                    return fault
        return None

    def log(self, **entry: Any) -> None:
        with self.lock:
            self.requests.append(entry)

    def requests_matching(
        self, method: str, path_part: str = "", since: int = 0
    ) -> list[dict[str, Any]]:
        """Requests logged (from index `since`: take `len(emulator.requests)` as a mark)."""
        with self.lock:
            return [
                r
                for r in self.requests[since:]
                if r["method"] == method and path_part in r["target"]
            ]

    # --- credentials ----------------------------------------------------------------------

    def issue_token(self) -> str:
        token = f"ya29.emulator-{secrets.token_urlsafe(24)}"
        with self.lock:
            self.tokens[token] = time.time() + self.token_lifetime
            self.issued.append(token)
        return token

    def token_valid(self, token: str) -> bool:
        with self.lock:
            return self.tokens.get(token, 0) > time.time()

    def service_account(self, email: str = "pdbi-lake@pdbi-test.iam.gserviceaccount.com") -> dict:
        """A service-account key (a fresh RSA key) whose tokens this emulator grants."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        with self.lock:
            self.public_keys[email] = key.public_key()
        return {
            "type": "service_account",
            "project_id": "pdbi-test",
            "private_key_id": secrets.token_hex(20),
            "private_key": pem,
            "client_email": email,
            "client_id": str(secrets.randbelow(10**20)),
            "token_uri": self.token_uri,
        }

    def oauth_user(self) -> dict:
        """gcloud-style saved user credentials (a refresh token) this emulator accepts."""
        client_id = f"{secrets.token_hex(8)}.apps.googleusercontent.com"
        client_secret, refresh = (
            f"GOCSPX-{secrets.token_urlsafe(18)}",
            f"1//{secrets.token_urlsafe(30)}",
        )
        with self.lock:
            self.refresh_tokens[refresh] = (client_id, client_secret)
        return {
            "type": "authorized_user",
            "client_id": client_id,
            "client_secret": client_secret,
            "refresh_token": refresh,
            "token_uri": self.token_uri,
        }

    def expire_tokens(self) -> None:
        """Every issued token stops working: clients must refresh (a 401, then the token URI)."""
        with self.lock:
            self.tokens.clear()

    # --- files ----------------------------------------------------------------------------

    def stamp(self) -> str:
        """RFC 3339 with milliseconds, as Drive writes; strictly increasing within a run."""
        with self.lock:
            now = max(datetime.now(UTC), self._last_stamp + timedelta(milliseconds=1))
            self._last_stamp = now
        return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"

    def new_id(self) -> str:
        return f"f{next(self._ids):06d}{secrets.token_hex(6)}"

    def blob(self, file_id: str) -> Path:
        return self.storage / file_id

    def add_folder(
        self, title: str, parent: str | None = "root", file_id: str | None = None
    ) -> str:
        return self.create({"title": title, "mimeType": FOLDER}, parent, file_id=file_id)["id"]

    def add_file(
        self,
        parent: str,
        title: str,
        data: bytes,
        mime_type: str = "application/octet-stream",
        trashed: bool = False,
    ) -> str:
        """Put a file straight into the store (tests seed Drive's odd states this way)."""
        body = {"title": title, "mimeType": mime_type}
        meta = self.store(body, self.staged(data), digest(data), parent=parent)
        if trashed:
            self.update_meta(meta["id"], {"labels": {"trashed": True}})
        return meta["id"]

    def create(
        self,
        body: dict[str, Any],
        parent: str | None = None,
        file_id: str | None = None,
        content: tuple[int, str] | None = None,
    ) -> dict[str, Any]:
        """A new item; a file with `content` (size, md5 of its blob, already in place) appears
        with it in one step (see `store`)."""
        file_id = file_id or self.new_id()
        stamp = self.stamp()
        parents = body.get("parents") or ([{"id": parent}] if parent else [])
        meta = {
            "kind": "drive#file",
            "id": file_id,
            "title": body.get("title", "Untitled"),
            "mimeType": body.get("mimeType") or "application/octet-stream",
            "parents": [{"kind": "drive#parentReference", "id": p["id"]} for p in parents],
            "labels": {"trashed": False, "starred": False, "hidden": False},
            "createdDate": stamp,
            "modifiedDate": stamp,
        }
        if content is not None:
            meta.update(self._content_fields(file_id, *content))
        with self.lock:
            self.files[file_id] = meta
        return dict(meta)

    def set_content(self, file_id: str, size: int, md5: str) -> None:
        with self.lock:
            meta = self.files[file_id]
            meta.update(self._content_fields(file_id, size, md5), modifiedDate=self.stamp())

    def _content_fields(self, file_id: str, size: int, md5: str) -> dict[str, str]:
        return {
            "fileSize": str(size),
            "md5Checksum": md5,
            "downloadUrl": f"{self.api_endpoint}files/{file_id}?alt=media",
        }

    def staged(self, data: bytes) -> Path:
        """Bytes in a file of the store's own, not yet any item's content (for `store`)."""
        path = self.storage / f"staged-{self.new_id()}"
        path.write_bytes(data)
        return path

    def store(
        self,
        body: dict[str, Any],
        source: Path,
        content: tuple[int, str],
        file_id: str | None = None,
        parent: str | None = None,
    ) -> dict[str, Any]:
        """`source` becomes the content of a new item (file_id None) or of file_id, as Drive
        does it: a new file is listed only once whole, an existing one switches from its old
        bytes to its new ones at once. Every write of file content goes through here."""
        new = file_id is None
        file_id = file_id or self.new_id()
        os.replace(source, self.blob(file_id))
        if new:
            return self.create(body, parent, file_id, content)
        self.update_meta(file_id, body)
        self.set_content(file_id, *content)
        return self.get(file_id) or {}

    def update_meta(self, file_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            meta = self.files[file_id]
            for key, value in changes.items():
                if key == "labels":
                    meta["labels"].update(value)
                elif key == "parents":
                    meta["parents"] = [
                        {"kind": "drive#parentReference", "id": p["id"]} for p in value
                    ]
                elif key in ("title", "mimeType", "description"):
                    meta[key] = value
            meta["modifiedDate"] = self.stamp()
            return dict(meta)

    def get(self, file_id: str) -> dict[str, Any] | None:
        with self.lock:
            meta = self.files.get(file_id)
            return dict(meta) if meta else None

    def delete(self, file_id: str) -> bool:
        with self.lock:
            meta = self.files.pop(file_id, None)
        self.blob(file_id).unlink(missing_ok=True)
        return meta is not None

    def search(self, query: str | None) -> list[dict[str, Any]]:
        predicate = parse_query(query)
        with self.lock:
            items = [dict(m) for m in self.files.values() if m["id"] != "root"]
        return sorted((m for m in items if predicate(m)), key=lambda m: m["id"])

    def children(self, parent: str, trashed: bool = False) -> list[dict[str, Any]]:
        query = f"'{parent}' in parents" + ("" if trashed else " and trashed = false")
        return self.search(query)

    def content(self, file_id: str) -> bytes:
        return self.blob(file_id).read_bytes()
