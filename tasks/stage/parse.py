"""A lake file's records straight into Arrow, without a Python object per record.

JSON arrays go through DuckDB's `read_json`, each element as JSON text, and DuckDB picks every
source key out of it as text (`json_extract_string`). JSON Lines are split into lines by Arrow
(each line stands alone: a line that is not JSON is a row to reject, the rest of the file
loads), and DuckDB reads each line the same way. Either way the result is a stream of Arrow
record batches of PDBI_STAGE_CHUNK_ROWS records, so memory stays bounded whatever the file's
size. The layout is sniffed from the first byte, so any source may come either way; a UTF-8
byte-order mark is skipped.

What stage keeps of a value: text exactly as written; numbers as DuckDB prints the number it
read (integers digit for digit at any length, `12.0` stays `12.0`; a spelling such as `1.50` or
`1e3` becomes `1.5` or `1000.0`), booleans `true`/`false`, nested values as compact JSON, null
as NULL. Both spellings of a key (`Page Name`, `PageName`) fill one column, the spaced first.
The record itself, as JSON text, travels beside the columns for the quarantine.

Rows that cannot even be landed are marked with their reasons: a line that is not JSON
(`record_is_valid_json`), a value that is not a JSON object (`record_is_a_json_object`), a NUL
byte PostgreSQL text cannot hold (`value_has_no_nul_byte(<column>)`), and in JSON Lines a lone
UTF-16 surrogate escape (`value_is_valid_unicode(<column>)`).

A file DuckDB refuses fails as a whole with a DataError. Only then is the file read once more,
by `diagnose`, to name the line, column and byte of the first problem: a byte that is not UTF-8
(a Latin-1 export, never guessed at), a truncated or malformed array, a lone surrogate escape in
an array.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack
from typing import IO

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tasks.entities import Entity
from tasks.errors import DataError
from tasks.resources.scratch import scratch_folder

BOM = b"\xef\xbb\xbf"
BLOCK = 16 << 20  # bytes of JSON Lines split at a time
MAX_RECORD = 16 << 20  # longest record (DuckDB's maximum_object_size, and the diagnosis's)
# One DuckDB thread: with more, DuckDB parsed ahead of the COPY and held what it had parsed, so
# a load's memory grew with the file (measured, landing one then four million sessions: +75 MB
# with two threads, +25 MB with one); PostgreSQL takes the other core for the COPY anyway.
DUCKDB_CONFIG = {"preserve_insertion_order": True, "threads": 1}
RECORD = "record"  # the batch column holding each record's JSON text
ROW = "source_row"  # its row: the element's position in an array, the line number in lines
REJECTED = "rejected"  # reasons a row cannot be landed (null: it can)
_LONE_SURROGATE = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
                             r"|(?<![0-9a-fA-F]{2}\\u[dD][89abAB][0-9a-fA-F]{2})"
                             r"\\u[dD][c-fC-F][0-9a-fA-F]{2}")  # fmt: skip

Opener = Callable[[], AbstractContextManager[IO[bytes]]]

# DuckDB reads each element (or line) as JSON text and picks the keys out of it; `paths` bound.
_EXTRACT = """
select
    {row}
    {text} as record,
    json_type({text}) = 'OBJECT' as is_object,
    case when json_type({text}) = 'OBJECT' then json_extract_string({text}, $paths) end as v
from {relation}
"""
_ARRAY = _EXTRACT.format(row="", text="j", relation="elements")
_LINES = _EXTRACT.format(row="source_row,", text="line", relation="checked")
_VALID = "select json_valid(line) as valid from checked"


def layout_of(handle: IO[bytes]) -> str:
    """'array' when the first byte that is not blank (after a byte-order mark) is '[', 'lines'
    when it is anything else, 'empty' when there is none. Leaves the handle at the start."""
    handle.seek(0)
    head = handle.read(3)
    if head != BOM:
        handle.seek(0)
    first = b""
    while not first and (chunk := handle.read(4096)):
        first = chunk.lstrip()[:1]
    handle.seek(0)
    if not first:
        return "empty"
    return "array" if first == b"[" else "lines"


def read_batches(
    handle: IO[bytes], source: str, entity: Entity, batch_rows: int, reopen: Opener
) -> Iterator[pa.RecordBatch]:
    """The file's rows as record batches: ROW, RECORD, REJECTED, then one text column per stage
    column of `entity`. `reopen` opens the same file again, for `diagnose` only."""
    layout = layout_of(handle)
    if layout == "empty":
        if entity.layout == "array":
            raise DataError(f"{source}: the file is empty (0 bytes of JSON); expected a JSON array")
        return
    con = duckdb.connect(config=DUCKDB_CONFIG)
    try:
        paths = [f"$.{json.dumps(key)}" for key in [*entity.columns, *entity.aliases]]
        raw = _array_batches if layout == "array" else _line_batches
        for batch in raw(con, handle, source, paths, batch_rows, reopen):
            yield _columns(batch, entity)
    finally:
        con.close()


def _array_batches(
    con: duckdb.DuckDBPyConnection,
    handle: IO[bytes],
    source: str,
    paths: list[str],
    batch_rows: int,
    reopen: Opener,
) -> Iterator[pa.RecordBatch]:
    """DuckDB over a JSON array, each element as JSON text; rows numbered in reading order
    (DuckDB keeps the file's order: preserve_insertion_order). DuckDB takes an array cut just
    after a comma for a whole one, so the end of the file is checked first."""
    if not _closed(handle):
        raise diagnose(reopen, source, "the array is not closed")
    with ExitStack() as stack:
        yield from _read_array(con, _on_disk(handle, stack), source, paths, batch_rows, reopen)


def _on_disk(handle: IO[bytes], stack: ExitStack) -> str:
    """A path on this machine's disk holding the file, for DuckDB to read itself: given a
    Python file object, DuckDB kept the bytes it had read (measured: 480 MB more for a file
    four times as long), so a file that is not on this disk (a remote lake, a test's bytes) is
    first copied to a scratch folder, which `stack` removes."""
    for attribute in ("name", "path"):
        name = getattr(handle, attribute, None)
        if isinstance(name, str) and os.path.isfile(name):
            return name
    folder = stack.enter_context(scratch_folder("parse"))
    path = str(folder / "file.json")
    handle.seek(0)
    with open(path, "wb") as out:
        shutil.copyfileobj(handle, out, 1 << 20)
    return path


def _read_array(
    con: duckdb.DuckDBPyConnection,
    path: str,
    source: str,
    paths: list[str],
    batch_rows: int,
    reopen: Opener,
) -> Iterator[pa.RecordBatch]:
    try:
        elements = con.read_json(
            path, columns={"j": "JSON"}, format="array", records="false",
            maximum_object_size=MAX_RECORD,
        )  # fmt: skip
        con.register("elements", elements)
        reader = con.sql(_ARRAY, params={"paths": paths}).fetch_record_batch(batch_rows)
        row = 0
        for batch in reader:
            rows = pa.array(np.arange(row + 1, row + 1 + batch.num_rows, dtype=np.int64))
            row += batch.num_rows
            yield pa.RecordBatch.from_arrays(
                [rows, *batch.columns], names=[ROW, *batch.schema.names]
            )
    except (duckdb.InvalidInputException, pa.ArrowException, OSError) as exc:
        refused = str(exc).splitlines()[0]
        if not refused.startswith("Invalid Input Error"):  # not about the bytes: an I/O error
            raise
        raise diagnose(reopen, source, refused) from None


def _closed(handle: IO[bytes]) -> bool:
    """Whether the file ends with ']' (blanks aside) that no comma precedes."""
    handle.seek(0, 2)
    size = handle.tell()
    handle.seek(max(0, size - 4096))
    tail = handle.read().rstrip()
    handle.seek(0)
    return tail.endswith(b"]") and not tail[:-1].rstrip().endswith(b",")


def _line_batches(
    con: duckdb.DuckDBPyConnection,
    handle: IO[bytes],
    source: str,
    paths: list[str],
    batch_rows: int,
    reopen: Opener,
) -> Iterator[pa.RecordBatch]:
    """JSON Lines split by Arrow into (line number, text), blank lines skipped, read by DuckDB
    a block at a time: a line that is not JSON is a row of its own, never its neighbours'."""
    for lines in _lines(handle, source):
        for start in range(0, lines.num_rows, batch_rows):
            con.register("checked", lines.slice(start, batch_rows))
            valid = _arrow(con.sql(_VALID)).column("valid")
            part = lines.slice(start, batch_rows)
            good = part.filter(valid)
            if good.num_rows:
                con.register("checked", good)
                yield from con.sql(_LINES, params={"paths": paths}).fetch_record_batch(batch_rows)
            bad = part.filter(pc.invert(valid))
            if bad.num_rows:
                yield _malformed(bad)
            con.unregister("checked")


def _arrow(relation: duckdb.DuckDBPyRelation) -> pa.Table:
    result = relation.arrow()
    return result.read_all() if isinstance(result, pa.RecordBatchReader) else result


def _malformed(bad: pa.Table) -> pa.RecordBatch:
    """Lines DuckDB could not read, as rows to reject with their text: not JSON, or JSON with a
    lone surrogate escape (which no UTF-8 text, hence no PostgreSQL text, can hold)."""
    problems = [_line_problem(text) for text in bad.column("line").to_pylist()]  # few rows
    return pa.RecordBatch.from_pydict(
        {
            ROW: bad.column("source_row").combine_chunks(),
            "record": bad.column("line").combine_chunks(),
            "is_object": pa.nulls(bad.num_rows, pa.bool_()),
            "v": pa.nulls(bad.num_rows, pa.list_(pa.string())),
            "problem": pa.array(problems, pa.string()),
        }
    )


def _line_problem(text: str) -> str:
    """`record_is_valid_json`, or `value_is_valid_unicode(<key>)` naming the first key whose
    value holds a lone surrogate when the standard library reads the line."""
    try:
        value = json.loads(text)
    except ValueError:
        return "record_is_valid_json"
    if isinstance(value, dict):
        for key, item in value.items():
            if _LONE_SURROGATE.search(json.dumps(item)):
                return f"value_is_valid_unicode({key})"
    return "value_is_valid_unicode"


def _lines(handle: IO[bytes], source: str) -> Iterator[pa.Table]:
    """(source_row, line) tables of about BLOCK bytes each, numbered from 1 as the file's lines,
    blank lines left out; the text is checked to be UTF-8 block by block."""
    head = handle.read(3)
    offset = 3 if head == BOM else 0
    carry = b"" if head == BOM else head
    line_no = 0
    while True:
        block = handle.read(BLOCK)
        data = carry + block
        if block:
            end = data.rfind(b"\n")
            if end < 0:
                carry = data
                continue
            data, carry = data[:end], data[end + 1 :]
        elif not data:
            return
        else:
            carry = b""
        table = _split(data, source, offset, line_no)
        line_no += data.count(b"\n") + 1
        offset += len(data) + 1
        if table.num_rows:
            yield table
        if not block:
            return


def _split(data: bytes, source: str, offset: int, line_no: int) -> pa.Table:
    lines = pc.split_pattern(pa.array([data], pa.large_binary()), b"\n").flatten()
    try:
        text = lines.cast(pa.large_string())
    except pa.ArrowInvalid:
        raise _not_utf8_in(data, source, offset, line_no) from None
    text = pc.utf8_rtrim(text, characters="\r")
    rows = np.arange(line_no + 1, line_no + 1 + len(text), dtype=np.int64)
    kept = pc.not_equal(pc.utf8_trim_whitespace(text), "")
    return pa.table({"source_row": rows, "line": text}).filter(kept)


def _not_utf8_in(data: bytes, source: str, offset: int, line_no: int) -> DataError:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = line_no + before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        where = f"line {line}, column {column} (byte {offset + exc.start})"
        return not_utf8(source, where, data[exc.start])
    return DataError(f"{source}: not UTF-8 after line {line_no}")


def _columns(batch: pa.RecordBatch, entity: Entity) -> pa.RecordBatch:
    """A raw batch (ROW, record, is_object, v[, problem]) as ROW, RECORD, REJECTED and one text
    column per stage column; rows with REJECTED reasons are not landed."""
    keys = [*entity.columns, *entity.aliases]
    values = batch.column("v")
    picked = {key: pc.list_element(values, i) for i, key in enumerate(keys)}
    for alias, key in entity.aliases.items():  # the unspaced spelling fills in a missing key
        picked[key] = pc.coalesce(picked[key], picked[alias])
    columns = {column: picked[key].cast(pa.string()) for key, column in entity.columns.items()}
    names = batch.schema.names
    problem = batch.column("problem") if "problem" in names else pa.nulls(len(batch), pa.string())
    nul = {c: pc.fill_null(pc.match_substring(a, "\x00"), False) for c, a in columns.items()}
    not_object = pc.invert(pc.fill_null(batch.column("is_object"), False))
    flagged = pc.or_(not_object, pc.is_valid(problem))
    for found in nul.values():
        flagged = pc.or_(flagged, found)
    rejected: pa.Array = pa.nulls(len(batch), pa.list_(pa.string()))
    if pc.any(flagged).as_py():  # reasons listed in Python for the flagged rows only
        lists: list[list[str] | None] = [None] * len(batch)
        for index in np.flatnonzero(flagged.to_numpy(zero_copy_only=False)):
            lists[index] = _reasons(index, problem, nul)
        rejected = pa.array(lists, pa.list_(pa.string()))
    return pa.RecordBatch.from_arrays(
        [batch.column(ROW), batch.column("record").cast(pa.string()), rejected,
         *columns.values()],
        names=[ROW, RECORD, REJECTED, *columns],
    )  # fmt: skip


def _reasons(index: int, problem: pa.Array, nul: dict[str, pa.Array]) -> list[str]:
    if (given := problem[index].as_py()) is not None:
        return [given]
    found = [f"value_has_no_nul_byte({c})" for c, flags in nul.items() if flags[index].as_py()]
    return found or ["record_is_a_json_object"]


def not_utf8(source: str, where: str, byte: int) -> DataError:
    return DataError(
        f"{source}: not UTF-8 at {where}: byte 0x{byte:02x} starts no UTF-8 character. The "
        "export looks like Latin-1 or Windows-1252; re-export it as UTF-8 (nothing was loaded "
        "from it, so no accent is garbled)."
    )


# --- the failure path: where exactly a refused file goes wrong ------------------------------


def diagnose(reopen: Opener, source: str, refused: str) -> DataError:
    """Read the refused file again to say where it goes wrong: the first byte that is not UTF-8,
    else the first place the JSON array breaks (truncated, a missing comma, data after the
    closing bracket), else a lone surrogate escape; DuckDB's own words otherwise."""
    with reopen() as handle:
        if (bad := _first_not_utf8(handle, source)) is not None:
            return bad
    with reopen() as handle:
        text = _Text(handle, source)
        if (broken := text.array_error()) is not None:
            return broken
    return DataError(f"{source}: not readable as JSON ({refused})")


def _first_not_utf8(handle: IO[bytes], source: str) -> DataError | None:
    """The first byte that starts no UTF-8 character, with its line, column and byte."""
    offset, line, line_start = 0, 1, 0
    head = handle.read(3)
    tail = b"" if head == BOM else head
    offset = line_start = len(head) - len(tail)
    while True:
        chunk = handle.read(1 << 20)
        data = tail + chunk
        if not data:
            return None
        try:
            data.decode("utf-8")
            cut = len(data)
        except UnicodeDecodeError as exc:
            if exc.reason != "unexpected end of data" or not chunk:
                before = data[: exc.start]
                newline = before.rfind(b"\n")
                start = offset + newline + 1 if newline >= 0 else line_start
                at = offset + exc.start
                where_line = line + before.count(b"\n")
                where = f"line {where_line}, column {at - start + 1} (byte {at})"
                return not_utf8(source, where, data[exc.start])
            cut = exc.start  # a character cut by the chunk: decided with the next one
        done, tail = data[:cut], data[cut:]
        if (newline := done.rfind(b"\n")) >= 0:
            line += done.count(b"\n")
            line_start = offset + newline + 1
        offset += len(done)
        if not chunk:
            return None


class _Text:
    """A file's text read in chunks, knowing the line, column and byte of any position."""

    def __init__(self, handle: IO[bytes], source: str) -> None:
        self.handle, self.source = handle, source
        self.buf, self.pos, self.eof = "", 0, False
        self.base_bytes = 0  # file offset of buf[0]
        self.base_line, self.base_line_start = 1, 0  # line of buf[0], file offset where it starts
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        head = handle.read(3)
        if head == BOM:
            self.base_bytes = self.base_line_start = 3
        else:
            self.buf = self.decoder.decode(head)

    def fill(self) -> bool:
        if self.eof:
            return False
        consumed = self.buf[: self.pos]
        self.base_line += consumed.count("\n")
        if (newline := consumed.rfind("\n")) >= 0:
            self.base_line_start = self.base_bytes + len(consumed[: newline + 1].encode())
        self.base_bytes += len(consumed.encode())
        chunk = self.handle.read(1 << 20)
        self.buf = self.buf[self.pos :] + self.decoder.decode(chunk, final=not chunk)
        self.pos, self.eof = 0, not chunk
        return bool(chunk)

    def skip_blanks(self) -> str:
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in " \t\r\n":
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.fill():
                return ""

    def where(self, at: int) -> str:
        before = self.buf[:at]
        line = self.base_line + before.count("\n")
        newline = before.rfind("\n")
        start = (
            self.base_bytes + len(before[: newline + 1].encode())
            if newline >= 0
            else self.base_line_start
        )
        byte = self.base_bytes + len(before.encode())
        return f"line {line}, column {byte - start + 1} (byte {byte})"

    def error(self, row: int, what: str, at: int | None = None) -> DataError:
        where = self.where(self.pos if at is None else at)
        return DataError(
            f"{self.source}: not a valid JSON array after record {row}: {what} at {where}"
        )

    def array_error(self) -> DataError | None:
        """The first structural error of a JSON array, by the standard library's decoder."""
        decoder = json.JSONDecoder()
        if self.skip_blanks() != "[":
            return self.error(0, "expected '[' (a JSON array)")
        self.pos += 1
        row = 0
        if self.skip_blanks() == "]":
            self.pos += 1
        else:
            while True:
                if not self.skip_blanks():
                    return self.error(row, "the file ends before the array is closed (truncated?)")
                value = self.value(decoder, row)
                if isinstance(value, DataError):
                    return value
                row += 1
                if (surrogate := _LONE_SURROGATE.search(value)) is not None:
                    at = self.pos - len(value) + surrogate.start()
                    return self.error(
                        row - 1,
                        f"record {row} holds {surrogate.group()}, a lone UTF-16 surrogate that "
                        "no UTF-8 text can hold; re-export it",
                        at,
                    )
                separator = self.skip_blanks()
                if separator not in (",", "]"):
                    what = "the file ends (truncated?)" if not separator else f"found {separator!r}"
                    return self.error(row, f"expected ',' or ']' after the record; {what}")
                self.pos += 1
                if separator == "]":
                    break
        if self.skip_blanks():
            return self.error(row, "unexpected data after the closing ']'")
        return None

    def value(self, decoder: json.JSONDecoder, row: int) -> str | DataError:
        """The text of the JSON value at pos (moved past it), or the error it makes."""
        while True:
            try:
                _, end = decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if not self.eof and len(self.buf) - self.pos < MAX_RECORD:
                    self.fill()  # the value may go on in the next chunk: decode again
                    continue
                cut = exc.pos >= len(self.buf) or exc.msg.startswith("Unterminated")
                ends = " before the file ends (truncated?)" if cut and self.eof else ""
                return self.error(row, f"{exc.msg}{ends}", exc.pos)
            if end == len(self.buf) and not self.eof:  # a bare number may go on
                self.fill()
                continue
            text = self.buf[self.pos : end]
            self.pos = end
            return text
