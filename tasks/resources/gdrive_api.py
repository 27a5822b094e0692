"""Google Drive through pydrive2: credentials, bounded retries, chunked transfers.

pydrive2 is the client: `GoogleAuth` turns a service-account key or saved OAuth credentials into
an authorized googleapiclient service, `GoogleDrive` lists, reads metadata, renames, copies and
trashes. File contents move through that same service, chunk by chunk, because pydrive2's own
`Upload()` sends 100 MB chunks and its reader cannot seek (Parquet needs to).

Retries are googleapiclient's own (`num_retries`): HTTP 429, 5xx, rate-limit 403s, dropped
connections and timeouts, with randomized exponential backoff, at most PDBI_GDRIVE_MAX_ATTEMPTS
tries per request. Every request of the service is built by `RetryingRequest`, so pydrive2's
calls (list, metadata, rename, copy, trash) get them too. `call()` adds what the library does
not do: a refused OAuth token refresh is tried again, a resumable upload chunk is resumed where
the server got to (the library would send the chunk again), and a call that still fails ends
in one sentence. Credentials never reach a log, a message or the lake.
"""

from __future__ import annotations

import functools
import http.client
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any, TypeVar

from googleapiclient.http import HttpRequest
from pydantic import SecretStr

from tasks.errors import ConfigError, PdbiError
from tasks.settings import get_settings

T = TypeVar("T")
SCOPES = ["https://www.googleapis.com/auth/drive"]
RATE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "backendError"}
MAX_DELAY_SECONDS = 32.0
logger = logging.getLogger(__name__)


class DriveUnavailableError(PdbiError):
    """Drive kept failing after the bounded retries; a PdbiError so tasks do not retry again."""


@dataclass(frozen=True)
class DriveOptions:
    api_endpoint: str | None = None
    max_attempts: int = 6
    retry_base_seconds: float = 1.0
    timeout_seconds: float = 60.0
    chunk_bytes: int = 8 << 20
    page_size: int = 1000

    @classmethod
    def from_settings(cls) -> DriveOptions:
        s = get_settings()
        return cls(
            api_endpoint=s.gdrive_api_endpoint,
            max_attempts=s.gdrive_max_attempts,
            retry_base_seconds=s.gdrive_retry_base_seconds,
            timeout_seconds=s.gdrive_timeout_seconds,
            chunk_bytes=s.gdrive_chunk_kib * 1024,
        )


class RetryingRequest(HttpRequest):
    """A googleapiclient request that retries itself: `execute()` uses num_retries unless told
    otherwise. googleapiclient waits rand() * 2**n seconds before its n-th retry; this subclass
    scales its random draw (the attribute the library's own tests set) so the first wait is at
    most PDBI_GDRIVE_RETRY_BASE_SECONDS, each next one doubling."""

    def __init__(self, *args: Any, retries: int = 0, base: float = 1.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retries = retries
        self._rand = lambda: random.random() * base / 2

    def execute(self, http: Any = None, num_retries: int | None = None) -> Any:
        return super().execute(
            http=http, num_retries=self.retries if num_retries is None else num_retries
        )


def request_builder(options: DriveOptions) -> Callable[..., RetryingRequest]:
    return functools.partial(
        RetryingRequest, retries=options.max_attempts - 1, base=options.retry_base_seconds
    )


# --- credentials --------------------------------------------------------------------------


def configured_credentials() -> SecretStr:
    """The credentials JSON named by PDBI_GDRIVE_CREDENTIALS or PDBI_GDRIVE_SECRET_BLOCK."""
    s = get_settings()
    if (s.gdrive_credentials is None) == (s.gdrive_secret_block is None):
        raise ConfigError(
            "A gdrive:// lake needs exactly one of PDBI_GDRIVE_CREDENTIALS (a service-account key "
            "or saved OAuth credentials file) and PDBI_GDRIVE_SECRET_BLOCK (a Prefect Secret)."
        )
    if s.gdrive_secret_block is not None:
        from prefect.blocks.system import Secret

        try:
            value = Secret.load(s.gdrive_secret_block, _sync=True).get()  # sync even under a loop
        except ValueError:
            raise ConfigError(
                f"PDBI_GDRIVE_SECRET_BLOCK={s.gdrive_secret_block!r}: no such Prefect Secret "
                "block; create it (prefect block create secret) or fix the name."
            ) from None
        return SecretStr(value if isinstance(value, str) else json.dumps(value))
    try:
        return SecretStr(s.gdrive_credentials.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(
            f"PDBI_GDRIVE_CREDENTIALS={str(s.gdrive_credentials)!r} cannot be read "
            f"({exc.strerror}); point it at the key file."
        ) from None


def authorize(credentials: SecretStr, options: DriveOptions) -> Any:
    """A pydrive2 GoogleDrive for these credentials, talking to options.api_endpoint."""
    from googleapiclient.discovery import build
    from pydrive2.auth import GoogleAuth
    from pydrive2.drive import GoogleDrive

    info = _parse(credentials)
    if info.get("type") == "service_account":
        config = {"client_json": credentials.get_secret_value()}
        settings = {"client_config_backend": "service", "service_config": config}
        auth = GoogleAuth(
            settings={**settings, "oauth_scope": SCOPES}, http_timeout=options.timeout_seconds
        )
        auth.ServiceAuth()  # no request yet: the token is fetched on the first call
    else:
        auth = GoogleAuth(settings=_oauth_settings(info), http_timeout=options.timeout_seconds)
        auth.credentials = _oauth_credentials(info)
        if auth.access_token_expired:
            call(options, "refresh the OAuth access token", auth.Refresh, library_retries=False)
        auth.Authorize()
    # the service pydrive2 built, again, with requests that retry themselves (and another
    # endpoint when one is set); the discovery document ships with googleapiclient
    client_options = {"api_endpoint": options.api_endpoint} if options.api_endpoint else None
    auth.service = build(
        "drive",
        "v2",
        http=auth.http,
        cache_discovery=False,
        client_options=client_options,
        requestBuilder=request_builder(options),
    )
    return GoogleDrive(auth)


def _parse(credentials: SecretStr) -> dict[str, Any]:
    """The JSON's fields; errors name the setting, never the content."""
    try:
        info = json.loads(credentials.get_secret_value())
    except ValueError:
        info = None
    if not isinstance(info, dict) or not (
        info.get("type") in ("service_account", "authorized_user") or "refresh_token" in info
    ):
        raise ConfigError(
            "The Drive credentials (PDBI_GDRIVE_CREDENTIALS or PDBI_GDRIVE_SECRET_BLOCK) are not "
            "a service-account JSON key nor saved OAuth credentials with a refresh token."
        )
    return info


def _oauth_settings(info: dict[str, Any]) -> dict[str, Any]:
    from oauth2client import GOOGLE_AUTH_URI, GOOGLE_REVOKE_URI, GOOGLE_TOKEN_URI

    client = {
        "client_id": info.get("client_id"),
        "client_secret": info.get("client_secret"),
        "auth_uri": GOOGLE_AUTH_URI,
        "token_uri": info.get("token_uri") or GOOGLE_TOKEN_URI,
        "revoke_uri": info.get("revoke_uri") or GOOGLE_REVOKE_URI,
        "redirect_uri": "",
    }
    return {"client_config_backend": "settings", "client_config": client, "oauth_scope": SCOPES}


def _oauth_credentials(info: dict[str, Any]) -> Any:
    """pydrive2's saved credentials (oauth2client JSON) or gcloud's authorized_user file."""
    from oauth2client import GOOGLE_TOKEN_URI
    from oauth2client.client import Credentials, OAuth2Credentials

    if "_class" in info:
        return Credentials.new_from_json(json.dumps(info))
    return OAuth2Credentials(
        None,
        info.get("client_id"),
        info.get("client_secret"),
        info["refresh_token"],
        None,
        info.get("token_uri") or GOOGLE_TOKEN_URI,
        None,
    )


# --- retries ------------------------------------------------------------------------------


def call(options: DriveOptions, what: str, fn: Callable[[], T], library_retries: bool = True) -> T:
    """fn(), one or more Drive requests. With library_retries (every request made through the
    service retries itself), a transient failure that still comes out has used up its tries,
    except a refused token refresh, which the library does not retry: that, and every
    transient failure of a fn without library retries, is tried again here, with exponential
    backoff and jitter. Either way a call ends after PDBI_GDRIVE_MAX_ATTEMPTS tries."""
    started = time.monotonic()
    for attempt in range(1, options.max_attempts + 1):
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - classified just below
            reason = transient_reason(exc)
            if reason is None:
                raise _permanent(exc, what) from exc
            exhausted = library_retries and not _token_refresh(exc)
            if exhausted or attempt == options.max_attempts:
                tries = options.max_attempts if exhausted else attempt
                raise DriveUnavailableError(
                    f"Google Drive: {what} failed {tries} times in "
                    f"{time.monotonic() - started:.1f} s (last: {reason}); giving up. Check "
                    "Drive's status or PDBI_GDRIVE_API_ENDPOINT, or raise PDBI_GDRIVE_MAX_ATTEMPTS."
                ) from None
            delay = backoff(options.retry_base_seconds, attempt, exc)
            logger.warning(
                "Google Drive: %s failed (%s); try %d of %d in %.2f s",
                what,
                reason,
                attempt + 1,
                options.max_attempts,
                delay,
            )
            time.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def backoff(base: float, attempt: int, exc: BaseException | None = None) -> float:
    """Exponential with equal jitter: half the step fixed, half random; Retry-After wins."""
    step = min(MAX_DELAY_SECONDS, base * 2 ** (attempt - 1))
    retry_after = _retry_after(exc)
    if retry_after is not None:
        return min(MAX_DELAY_SECONDS, retry_after)
    return step / 2 + random.uniform(0, step / 2)


def _status(exc: BaseException) -> tuple[int, str] | None:
    """(HTTP status, Drive's reason) of an API error from googleapiclient or pydrive2."""
    from googleapiclient.errors import HttpError
    from pydrive2.files import ApiRequestError

    if isinstance(exc, ApiRequestError):
        return int(exc.error.get("code", 0)), exc.GetField("reason")
    if isinstance(exc, HttpError):
        details = exc.error_details if isinstance(exc.error_details, list) else []
        first = details[0] if details and isinstance(details[0], dict) else {}
        return int(exc.resp.status), str(first.get("reason", ""))
    if isinstance(exc, ValueError) and exc.__context__ is not None:
        return _status(exc.__context__)  # pydrive2 failed to parse a non-JSON error page
    return None


def _token_refresh(exc: BaseException) -> bool:
    """A failed OAuth token refresh (raised from inside a request, before any retry of it)."""
    from oauth2client.client import HttpAccessTokenRefreshError
    from pydrive2.auth import AuthError

    return isinstance(exc, HttpAccessTokenRefreshError | AuthError) or isinstance(
        exc.__context__, HttpAccessTokenRefreshError
    )


def transient_reason(exc: BaseException) -> str | None:
    """Why exc is worth another try (HTTP 503, connection reset...), or None when it is not."""
    from oauth2client.client import HttpAccessTokenRefreshError
    from pydrive2.auth import AuthError

    if isinstance(exc, AuthError) and exc.__context__ is not None:
        return transient_reason(exc.__context__)  # pydrive2 re-raises oauth2client's as text
    if isinstance(exc, HttpAccessTokenRefreshError):
        status = exc.status or 0
        return f"token endpoint HTTP {status}" if status == 429 or status >= 500 else None
    status = _status(exc)
    if status is not None:
        code, reason = status
        if code in (408, 429) or code >= 500 or (code == 403 and reason in RATE_LIMIT_REASONS):
            return f"HTTP {code}" + (f" {reason}" if reason else "")
        return None
    if isinstance(exc, ConnectionError | TimeoutError | http.client.HTTPException):
        return type(exc).__name__
    return None


def _permanent(exc: BaseException, what: str) -> BaseException:
    """Auth and permission failures become a ConfigError naming the fix, a 404 a
    FileNotFoundError; others pass through."""
    from oauth2client.client import AccessTokenRefreshError
    from pydrive2.auth import AuthError

    status = _status(exc)
    if status and status[0] == 404:
        return FileNotFoundError(
            f"Google Drive: cannot {what}: not found (HTTP 404); check that PDBI_LAKE_URL names "
            "a folder that exists and is shared with the account."
        )
    if isinstance(exc, AccessTokenRefreshError | AuthError) or (status and status[0] in (401, 403)):
        detail = f"HTTP {status[0]} {status[1]}".strip() if status else "token refused"
        return ConfigError(
            f"Google Drive refused to {what} ({detail}); check the credentials in "
            "PDBI_GDRIVE_CREDENTIALS / PDBI_GDRIVE_SECRET_BLOCK and that the lake's root folder "
            "is shared with that account."
        )
    return exc


def _retry_after(exc: BaseException | None) -> float | None:
    resp = getattr(exc, "resp", None)
    value = resp.get("retry-after") if resp is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


# --- content ------------------------------------------------------------------------------


def upload(
    files: Any, http: Any, options: DriveOptions, body: dict[str, Any], stream: IO[bytes], size: int
) -> dict[str, Any]:
    """Insert one file: multipart when it fits one chunk, else resumable chunk by chunk.

    A failed chunk is retried here, not by the library (which would send the same chunk
    again): googleapiclient then asks the server how much it has and resumes from there, so a
    dropped connection never restarts a large upload nor sends a chunk twice.
    """
    from googleapiclient.http import MediaIoBaseUpload

    resumable = size > options.chunk_bytes
    mime = body.get("mimeType") or "application/octet-stream"
    media = MediaIoBaseUpload(stream, mime, chunksize=options.chunk_bytes, resumable=resumable)
    request = files.insert(body=body, media_body=media, supportsAllDrives=True)
    _align_scheme(request, options.api_endpoint)
    what = f"upload {body.get('title')!r}"
    if not resumable:
        return call(options, what, lambda: request.execute(http=http))
    response = None
    while response is None:
        _, response = call(
            options, what, lambda: request.next_chunk(http=http), library_retries=False
        )
    return response


def read_range(
    files: Any, http: Any, options: DriveOptions, file_id: str, start: int, end: int
) -> bytes:
    """Bytes [start, end) of a file: one ranged media GET, so reading never holds a whole file."""
    if end <= start:
        return b""
    request = files.get_media(fileId=file_id, supportsAllDrives=True)
    request.headers["Range"] = f"bytes={start}-{end - 1}"
    return call(
        options, f"download {file_id} bytes {start}-{end - 1}", lambda: request.execute(http=http)
    )


def _align_scheme(request: Any, api_endpoint: str | None) -> None:
    """googleapiclient swaps only the host of upload URLs for api_endpoint's and keeps https;
    an http endpoint (the local emulator) needs its scheme too."""
    if api_endpoint and api_endpoint.startswith("http://") and request.uri.startswith("https://"):
        request.uri = "http://" + request.uri[len("https://") :]
