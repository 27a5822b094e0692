"""Streaming parsers for the lake's JSON files.

Files are read record by record (ijson for JSON arrays, line by line for JSON Lines), so a
file is never held whole in memory. A byte-order mark is skipped. A file that is not JSON
fails with a DataError naming the file and where the parser stopped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

import ijson

from tasks.errors import DataError

BOM = b"\xef\xbb\xbf"


def skip_bom(handle: IO[bytes]) -> None:
    """Leave the handle after a UTF-8 byte-order mark, or where it was."""
    start = handle.tell()
    if handle.read(3) != BOM:
        handle.seek(start)


def iter_json_array(handle: IO[bytes], source: str) -> Iterator[tuple[int, Any]]:
    """(row number from 1, record) for each element of a top-level JSON array."""
    skip_bom(handle)
    row = 0
    try:
        for row, record in enumerate(ijson.items(handle, "item", use_float=True), start=1):
            yield row, record
    except (ijson.JSONError, UnicodeDecodeError) as exc:
        raise DataError(
            f"{source}: not a valid JSON array after record {row} "
            f"(near byte {handle.tell()}): {exc}"
        ) from None


def iter_json_lines(handle: IO[bytes], source: str) -> Iterator[tuple[int, Any]]:
    """(line number from 1, record) for each non-blank line of a JSON Lines file."""
    skip_bom(handle)
    for line_no, raw in enumerate(handle, start=1):
        if not raw.strip():
            continue
        try:
            yield line_no, json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataError(f"{source}: line {line_no} is not valid JSON: {exc}") from None


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
