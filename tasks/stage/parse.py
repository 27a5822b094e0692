"""Streaming parsers for the lake's JSON files.

Files are read record by record, never whole: a JSON array through a scanner that hands each
element to orjson when it sits on its own line (the usual export) and to the standard library's
decoder otherwise; JSON Lines line by line. A byte-order mark is skipped. The encoding is UTF-8:
a byte sequence that is not (a Latin-1 export, say) fails the file with its line and byte offset
rather than being guessed at, so no accent is ever garbled silently.

A JSON array that cannot be parsed (truncated, not JSON) fails the file with a DataError naming
the file, line and byte. In JSON Lines each line stands alone: a line that is not JSON becomes a
`Malformed` record, rejected as a row with its text, and the rest of the file loads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import orjson

from tasks.errors import DataError

BOM = b"\xef\xbb\xbf"
CHUNK = 1 << 20  # bytes read at a time
FAST_LINE = 1 << 16  # longest line tried with orjson before the general decoder
MAX_RECORD = 16 << 20  # longest record the general decoder waits for
_WS = re.compile(rb"[ \t\r\n]*")
_DECODER = json.JSONDecoder()


@dataclass(frozen=True)
class Malformed:
    """A JSON Lines line that is not JSON: a row to reject, keeping its text."""

    text: str
    error: str


def skip_bom(handle: IO[bytes]) -> None:
    """Leave the handle after a UTF-8 byte-order mark, or where it was."""
    start = handle.tell()
    if handle.read(3) != BOM:
        handle.seek(start)


def iter_records(
    handle: IO[bytes], source: str, layout: str = "array"
) -> Iterator[tuple[int, Any]]:
    """(row, record) of a JSON array or a JSON Lines file, whichever the file turns out to be.

    `layout` says what an empty file means: an empty array file is a failed export (DataError),
    an empty JSON Lines file simply has no records.
    """
    skip_bom(handle)
    start = handle.tell()
    first = b""
    while not first and (chunk := handle.read(4096)):
        first = chunk.lstrip()[:1]
    handle.seek(start)
    if not first:
        if layout == "array":
            raise DataError(f"{source}: the file is empty (0 bytes of JSON); expected a JSON array")
        return
    yield from (iter_json_array if first == b"[" else iter_json_lines)(handle, source)


def iter_json_array(handle: IO[bytes], source: str) -> Iterator[tuple[int, Any]]:
    """(row number from 1, record) for each element of a top-level JSON array."""
    skip_bom(handle)
    scan = _ArrayScanner(handle, source)
    if scan.next_byte() != b"[":
        raise scan.error(0, "expected '[' (a JSON array)")
    scan.pos += 1
    row = 0
    if scan.next_byte() == b"]":
        scan.pos += 1
    else:
        while True:
            for value in scan.comma_blocks():
                row += 1
                yield row, value
            if not scan.next_byte():
                raise scan.error(row, "the file ends before the array is closed (truncated?)")
            row += 1
            yield row, scan.value(row - 1)
            separator = scan.next_byte()
            if separator not in (b",", b"]"):
                what = "the file ends (truncated?)" if not separator else f"found {separator!r}"
                raise scan.error(row, f"expected ',' or ']' after the record; {what}")
            scan.pos += 1
            if separator == b"]":
                break
    if scan.next_byte():
        raise scan.error(row, "unexpected data after the closing ']'")


class _ArrayScanner:
    """A byte buffer over the handle that knows which line and byte of the file it is at."""

    def __init__(self, handle: IO[bytes], source: str) -> None:
        self.handle, self.source = handle, source
        self.buf, self.pos, self.base, self.lines, self.eof = b"", 0, handle.tell(), 0, False
        self.line_start = self.base  # file offset where the line at buf[0] starts
        self.blocks = True  # whether comma_blocks still applies

    def fill(self) -> bool:
        """Drop the consumed bytes, append a chunk; False at the end of the file."""
        if self.eof:
            return False
        self.lines += self.buf.count(b"\n", 0, self.pos)
        if (newline := self.buf.rfind(b"\n", 0, self.pos)) >= 0:
            self.line_start = self.base + newline + 1
        self.base += self.pos
        chunk = self.handle.read(CHUNK)
        self.buf, self.pos, self.eof = self.buf[self.pos :] + chunk, 0, not chunk
        return bool(chunk)

    def next_byte(self) -> bytes:
        """The next byte that is not whitespace, left unconsumed; b"" at the end of the file."""
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf):
                return self.buf[self.pos : self.pos + 1]
            if not self.fill():
                return b""

    def comma_blocks(self) -> Iterator[Any]:
        """The values up to the buffer's last comma that ends a line, parsed as one array by a
        single orjson call (no Python work per record). A prefix of the array's content that ends
        at a comma of its own level is a valid sequence, so the call either reads exactly the
        file's next values or fails (pretty-printed or broken files): then this path is left for
        the general one, which also finds the error's position."""
        while self.blocks:
            end = max(self.buf.rfind(b",\n", self.pos), self.buf.rfind(b",\r\n", self.pos))
            if end < self.pos:
                if len(self.buf) - self.pos > FAST_LINE or not self.fill():
                    return
                continue
            try:
                values = orjson.loads(b"[" + self.buf[self.pos : end] + b"]")
            except orjson.JSONDecodeError:
                self.blocks = False
                return
            self.pos = end + 1
            yield from values
            self.fill()

    def value(self, after: int) -> Any:
        """The JSON value starting at pos: one orjson call when it fills the rest of its line."""
        newline = self.buf.find(b"\n", self.pos, self.pos + FAST_LINE)
        while newline < 0 and len(self.buf) - self.pos < FAST_LINE and self.fill():
            newline = self.buf.find(b"\n", self.pos, self.pos + FAST_LINE)
        end = newline if newline >= 0 else len(self.buf)
        if newline >= 0 or self.eof:
            core = self.buf[self.pos : end].rstrip()
            core = core[:-1].rstrip() if core.endswith(b",") else core
            try:
                value = orjson.loads(core)
            except orjson.JSONDecodeError:
                pass
            else:
                self.pos += len(core)
                return value
        return self._decode(after)

    def _decode(self, after: int) -> Any:
        """The standard library's decoder on a growing window, for values spanning lines."""
        size = FAST_LINE
        while True:
            while len(self.buf) - self.pos < size and self.fill():
                pass
            window = self.buf[self.pos : self.pos + size]
            more = not (self.eof and self.pos + size >= len(self.buf)) and size < MAX_RECORD
            try:
                text = window.decode("utf-8")
            except UnicodeDecodeError as exc:
                if exc.reason != "unexpected end of data" or not more:
                    raise self.not_utf8(self.pos + exc.start, window[exc.start]) from None
                text = window[: exc.start].decode("utf-8")  # a character cut by the window
            try:
                value, end = _DECODER.raw_decode(text)
            except json.JSONDecodeError as exc:
                if not more:
                    at = self.pos + len(text[: exc.pos].encode())
                    cut = exc.pos >= len(text) or exc.msg.startswith("Unterminated")
                    ends = " before the file ends (truncated?)" if cut else ""
                    raise self.error(after, f"{exc.msg}{ends}", at) from None
                size *= 4
                continue
            if end == len(text) and more:  # a bare number may go on past the window
                size *= 4
                continue
            self.pos += len(text[:end].encode())
            return value

    def where(self, at: int) -> str:
        line = self.lines + self.buf.count(b"\n", 0, at) + 1
        newline = self.buf.rfind(b"\n", 0, at)
        start = self.base + newline + 1 if newline >= 0 else self.line_start
        return f"line {line}, column {self.base + at - start + 1} (byte {self.base + at})"

    def error(self, row: int, what: str, at: int | None = None) -> DataError:
        where = self.where(self.pos if at is None else at)
        return DataError(
            f"{self.source}: not a valid JSON array after record {row}: {what} at {where}"
        )

    def not_utf8(self, at: int, byte: int) -> DataError:
        return not_utf8(self.source, self.where(at), byte)


def not_utf8(source: str, where: str, byte: int) -> DataError:
    return DataError(
        f"{source}: not UTF-8 at {where}: byte 0x{byte:02x} starts no UTF-8 character. The "
        "export looks like Latin-1 or Windows-1252; re-export it as UTF-8 (nothing was loaded "
        "from it, so no accent is garbled)."
    )


def iter_json_lines(handle: IO[bytes], source: str) -> Iterator[tuple[int, Any]]:
    """(line number from 1, record) for each non-blank line; a line that is not JSON comes
    back as a `Malformed` record so that the caller can reject it as a row."""
    skip_bom(handle)
    offset = handle.tell()
    for line_no, raw in enumerate(handle, start=1):
        if raw.strip():
            try:
                yield line_no, orjson.loads(raw)
            except orjson.JSONDecodeError:
                yield line_no, _line_value(raw, source, line_no, offset)
        offset += len(raw)


def _line_value(raw: bytes, source: str, line_no: int, offset: int) -> Any:
    """What orjson refused: the standard library's reading (NaN, lone surrogates), a
    `Malformed` row, or a DataError when the bytes are not UTF-8 at all."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        where = f"line {line_no}, column {exc.start + 1} (byte {offset + exc.start})"
        raise not_utf8(source, where, raw[exc.start]) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        return Malformed(text.rstrip("\r\n"), f"{exc.msg} at column {exc.colno}")


def as_text(value: Any) -> str | None:
    """A source value as stage text: numbers and booleans as JSON spells them, nested values
    as JSON, null as NULL."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False)
