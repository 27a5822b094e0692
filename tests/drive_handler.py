"""The HTTP side of the Drive emulator (tests/drive_emulator.py): routing, uploads, downloads.

Paths are Drive's (`/drive/v2/files...`, `/upload/drive/v2/files...`); a client built with
`client_options={"api_endpoint": emulator.api_endpoint}` sends exactly these.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import socket
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

_RANGE = re.compile(r"bytes=(\d+)-(\d*)")
_CONTENT_RANGE = re.compile(r"bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)")
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
STREAM_BLOCK = 1 << 20


@dataclass
class Upload:
    """One resumable upload session."""

    body: dict[str, Any]
    file_id: str | None  # set when the session updates an existing file
    temp: Path
    received: int = 0
    md5: Any = field(default_factory=hashlib.md5)


def digest(data: bytes) -> tuple[int, str]:
    """A file's content as Drive describes it: size and md5."""
    return len(data), hashlib.md5(data).hexdigest()


def error_body(code: int, reason: str, message: str) -> bytes:
    """Drive's error shape, which pydrive2's ApiRequestError parses."""
    error = {"errors": [{"domain": "global", "reason": reason, "message": message}]}
    return json.dumps({"error": {**error, "code": code, "message": message}}).encode()


def close_quietly(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class DriveHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Google's front ends
    disable_nagle_algorithm = True  # headers and a small body go out at once, no 40 ms stall
    # The DriveEmulator (tests/drive_emulator.py) bound by its start(); not imported, as that
    # module imports this one.
    emulator: Any

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Quiet: the emulator keeps its own request log."""

    def do_GET(self) -> None:
        self.dispatch("GET")

    def do_POST(self) -> None:
        self.dispatch("POST")

    def do_PUT(self) -> None:
        self.dispatch("PUT")

    def do_PATCH(self) -> None:
        self.dispatch("PATCH")

    def do_DELETE(self) -> None:
        self.dispatch("DELETE")

    # --- plumbing -------------------------------------------------------------------------

    def dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        self.query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        emulator = self.emulator
        ranges = f"{self.headers.get('Range', '')} {self.headers.get('Content-Range', '')}"
        fault = emulator.take_fault(f"{method} {self.path} {ranges}")
        emulator.log(
            method=method,
            target=self.path,
            range=self.headers.get("Range"),
            content_range=self.headers.get("Content-Range"),
            fault=fault.kind if fault else None,
        )
        try:
            if fault and fault.kind == "drop":
                self.close_connection = True
                close_quietly(self.connection)
                return
            self.late = fault.delay if fault and fault.kind == "late" else 0.0
            if fault and fault.kind == "slow":
                time.sleep(fault.delay)
            elif fault and fault.kind != "late":
                return self.fail(int(fault.kind), "rateLimitExceeded", "injected fault")
            if parts.path == "/token":
                return self.token()
            if not self.authorized():
                return self.fail(401, "authError", "Invalid Credentials")
            self.route(method, parts.path)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a slow response): nothing to say

    def send_response(self, code: int, message: str | None = None) -> None:
        """A "late" fault: the work is done, the answer comes after the client gave up."""
        if getattr(self, "late", 0.0):
            time.sleep(self.late)
        super().send_response(code, message)

    def send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self.send(
            status,
            json.dumps(obj).encode(),
            {"Content-Type": "application/json", **(headers or {})},
        )

    def fail(self, code: int, reason: str, message: str) -> None:
        self.send(code, error_body(code, reason, message), {"Content-Type": "application/json"})

    def authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        return header.startswith("Bearer ") and self.emulator.token_valid(header[7:])

    def json_body(self) -> dict[str, Any]:
        return json.loads(self.body) if self.body else {}

    def refuse_orphan(self, body: dict[str, Any]) -> bool:
        """Drive answers 404 to a file placed in a folder that does not exist."""
        missing = [p["id"] for p in body.get("parents", []) if self.emulator.get(p["id"]) is None]
        if missing:
            self.fail(404, "notFound", f"File not found: {missing[0]}")
        return bool(missing)

    # --- routes ---------------------------------------------------------------------------

    def route(self, method: str, path: str) -> None:
        upload = path.startswith("/upload/")
        rest = re.sub(r"^(/upload)?(/drive/v2)?/", "", path)
        segments = [s for s in rest.split("/") if s]
        if not segments or segments[0] != "files":
            return self.fail(404, "notFound", f"no such API path {path}")
        file_id = segments[1] if len(segments) > 1 else None
        action = segments[2] if len(segments) > 2 else None
        if "upload_id" in self.query:
            return self.upload_chunk()
        if upload:
            return self.upload_start(file_id)
        if file_id is None:
            return self.list_files() if method == "GET" else self.insert()
        if self.emulator.get(file_id) is None:
            return self.fail(404, "notFound", f"File not found: {file_id}")
        if action in ("trash", "untrash"):
            meta = self.emulator.update_meta(file_id, {"labels": {"trashed": action == "trash"}})
            return self.send_json(200, meta)
        if action == "copy":
            return self.copy(file_id)
        if method == "DELETE":
            self.emulator.delete(file_id)
            return self.send(204)
        if method == "GET":
            return self.download(file_id) if self.query.get("alt") == "media" else self.get(file_id)
        return self.patch(file_id)

    def list_files(self) -> None:
        emulator = self.emulator
        try:
            items = emulator.search(self.query.get("q"))
        except ValueError as exc:
            return self.fail(400, "invalid", str(exc))
        size = min(int(self.query.get("maxResults", 100)), emulator.page_limit)
        start = int(self.query.get("pageToken") or 0)
        page = {"kind": "drive#fileList", "items": items[start : start + size]}
        if start + size < len(items):
            page["nextPageToken"] = str(start + size)
        self.send_json(200, page)

    def get(self, file_id: str) -> None:
        self.send_json(200, self.emulator.get(file_id))

    def insert(self) -> None:
        body = self.json_body()
        if not self.refuse_orphan(body):
            self.send_json(200, self.emulator.create(body))

    def patch(self, file_id: str) -> None:
        emulator, changes = self.emulator, self.json_body()
        parents = [p["id"] for p in emulator.get(file_id)["parents"]]
        if "addParents" in self.query or "removeParents" in self.query:
            removed = set(self.query.get("removeParents", "").split(","))
            added = [p for p in self.query.get("addParents", "").split(",") if p]
            changes["parents"] = [{"id": p} for p in parents if p not in removed] + [
                {"id": p} for p in added
            ]
        self.send_json(200, emulator.update_meta(file_id, changes))

    def copy(self, file_id: str) -> None:
        emulator, source = self.emulator, self.emulator.get(file_id)
        body = {"mimeType": source["mimeType"], "parents": source["parents"], **self.json_body()}
        body["title"] = body.get("title") or f"Copy of {source['title']}"
        if emulator.blob(file_id).exists():  # listed only once its copied bytes are in place
            content = (int(source["fileSize"]), source["md5Checksum"])
            meta = emulator.store(body, emulator.staged(emulator.content(file_id)), content)
        else:
            meta = emulator.create(body)
        self.send_json(200, meta)

    def download(self, file_id: str) -> None:
        meta, blob = self.emulator.get(file_id), self.emulator.blob(file_id)
        if meta["mimeType"].startswith("application/vnd.google-apps.") or not blob.exists():
            return self.fail(
                403, "fileNotDownloadable", "Only files with binary content can be downloaded"
            )
        total = blob.stat().st_size
        start, end, status = 0, total - 1, 200
        match = _RANGE.fullmatch(self.headers.get("Range", ""))
        headers = {"Content-Type": meta["mimeType"]}
        if match:
            start = int(match.group(1))
            end = min(int(match.group(2)) if match.group(2) else total - 1, total - 1)
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{total}"
        length = max(end - start + 1, 0)
        self.send_response(status)
        for key, value in {**headers, "Content-Length": str(length)}.items():
            self.send_header(key, value)
        self.end_headers()
        with open(blob, "rb") as handle:
            handle.seek(start)
            while length > 0:
                chunk = handle.read(min(STREAM_BLOCK, length))
                self.wfile.write(chunk)
                length -= len(chunk)

    # --- uploads --------------------------------------------------------------------------

    def upload_start(self, file_id: str | None) -> None:
        kind = self.query.get("uploadType")
        if kind == "multipart":
            return self.upload_multipart(file_id)
        if kind != "resumable":
            return self.fail(400, "badRequest", f"uploadType {kind!r} is not supported")
        if self.refuse_orphan(self.json_body()):
            return None
        upload_id = self.emulator.new_id()
        temp = self.emulator.storage / f"upload-{upload_id}"
        temp.touch()
        with self.emulator.lock:
            self.emulator.uploads[upload_id] = Upload(self.json_body(), file_id, temp)
        location = (
            f"{self.emulator.url}/upload/drive/v2/files?uploadType=resumable&upload_id={upload_id}"
        )
        self.send(200, b"", {"Location": location})

    def upload_chunk(self) -> None:
        upload = self.emulator.uploads.get(self.query["upload_id"])
        if upload is None:
            return self.fail(404, "notFound", "no such upload session")
        match = _CONTENT_RANGE.fullmatch(self.headers.get("Content-Range", "bytes */*"))
        if not match:
            return self.fail(400, "badRequest", "bad Content-Range")
        first, total = match.group(1), match.group(3)
        if first is not None and int(first) == upload.received:
            with open(upload.temp, "ab") as handle:
                handle.write(self.body)
            upload.md5.update(self.body)
            upload.received += len(self.body)
        if total != "*" and upload.received == int(total):
            return self.upload_finish(self.query["upload_id"], upload)
        headers = {"Range": f"bytes=0-{upload.received - 1}"} if upload.received else {}
        self.send(308, b"", headers)

    def upload_finish(self, upload_id: str, upload: Upload) -> None:
        emulator = self.emulator
        content = (upload.received, upload.md5.hexdigest())
        meta = emulator.store(upload.body, upload.temp, content, upload.file_id)
        with emulator.lock:
            emulator.uploads.pop(upload_id, None)
        self.send_json(200, meta)

    def upload_multipart(self, file_id: str | None) -> None:
        boundary = re.search(r'boundary="?([^";]+)"?', self.headers.get("Content-Type", ""))
        if not boundary:
            return self.fail(400, "badRequest", "multipart upload without a boundary")
        body, data = split_multipart(self.body, boundary.group(1).encode())
        if self.refuse_orphan(body):
            return None
        emulator = self.emulator
        self.send_json(200, emulator.store(body, emulator.staged(data), digest(data), file_id))

    # --- OAuth token endpoint -------------------------------------------------------------

    def token(self) -> None:
        form = {k: v[-1] for k, v in parse_qs(self.body.decode()).items()}
        grant = form.get("grant_type")
        ok = (
            self.valid_assertion(form.get("assertion", ""))
            if grant == JWT_GRANT
            else grant == "refresh_token"
            and self.emulator.refresh_tokens.get(form.get("refresh_token", ""))
            == (form.get("client_id"), form.get("client_secret"))
        )
        if not ok:
            return self.send_json(400, {"error": "invalid_grant", "error_description": "Bad grant"})
        token = self.emulator.issue_token()
        payload = {"access_token": token, "expires_in": self.emulator.token_lifetime}
        self.send_json(200, {**payload, "token_type": "Bearer"})

    def valid_assertion(self, assertion: str) -> bool:
        """A service account's RS256 JWT, signed by a key the emulator knows, for this URI."""
        try:
            head, claims, signature = assertion.split(".")
            payload = json.loads(_b64(claims))
            key = self.emulator.public_keys[payload["iss"]]
            key.verify(
                _b64(signature), f"{head}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except Exception:  # noqa: BLE001 - any malformed or forged assertion is refused
            return False
        return payload.get("aud") == self.emulator.token_uri and payload["exp"] > time.time()


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def split_multipart(body: bytes, boundary: bytes) -> tuple[dict[str, Any], bytes]:
    """The metadata part and the media part of a multipart/related upload, bytes untouched."""
    parts = body.split(b"--" + boundary)[1:-1]
    contents = []
    for part in parts:
        ends = [(part.find(sep), sep) for sep in (b"\r\n\r\n", b"\n\n") if sep in part]
        position, sep = min(ends)  # the first blank line ends the part's headers
        content = part[position + len(sep) :]
        for newline in (b"\r\n", b"\n"):  # the line break before a delimiter belongs to it
            if content.endswith(newline):
                content = content[: -len(newline)]
                break
        contents.append(content)
    return json.loads(contents[0] or b"{}"), contents[1] if len(contents) > 1 else b""
