"""Streaming parsers against the standard library's reading of the same bytes."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest

from tasks.errors import DataError
from tasks.stage.parse import (
    BOM,
    FAST_LINE,
    Malformed,
    iter_json_array,
    iter_json_lines,
    iter_records,
)

RECORDS: list[Any] = [
    {"Id": 1, "Name": "Administração", "nested": {"a": [1, 2]}},
    {"Id": "2", "Name": 'quote " backslash \\ tab \t newline \n', "n": 1.5},
    {"Id": 3, "Name": "😀", "big": 2**70},
    [1, 2],
    42,
    "text",
    None,
    {"Id": 4, "Name": "x" * (FAST_LINE * 2)},  # longer than orjson's fast path tries
]

LAYOUTS = {
    "one per line": lambda rs: "[\n" + ",\n".join(json.dumps(r) for r in rs) + "\n]\n",
    "pretty": lambda rs: json.dumps(rs, indent=2, ensure_ascii=False),
    "one line": lambda rs: json.dumps(rs, separators=(",", ":")),
    "crlf, leading commas": lambda rs: "[ " + "\r\n, ".join(json.dumps(r) for r in rs) + "\r\n]",
    "comma lines then a tail": lambda rs: (
        "[\n" + "".join(json.dumps(r) + ",\n" for r in rs[:-1]) + json.dumps(rs[-1]) + "]"
    ),
}


def parsed(data: bytes) -> list[tuple[int, Any]]:
    return list(iter_json_array(io.BytesIO(data), "f.json"))


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("bom", [b"", BOM])
def test_array_layouts_read_as_the_standard_library_reads_them(layout: str, bom: bytes) -> None:
    data = bom + LAYOUTS[layout](RECORDS).encode()
    expected = json.loads(data.decode("utf-8-sig"))
    assert parsed(data) == list(enumerate(expected, start=1))


def test_empty_arrays_and_bare_numbers() -> None:
    assert parsed(b" [ ] ") == []
    assert parsed(b"[1,\n22,\n333]") == [(1, 1), (2, 22), (3, 333)]
    assert parsed(b"[1.5e3]") == [(1, 1500.0)]


def test_every_cut_of_a_file_fails_naming_the_file() -> None:
    whole = LAYOUTS["one per line"](RECORDS[:3]).encode().rstrip()
    for cut in range(len(whole)):
        with pytest.raises(DataError, match=r"^f\.json: not a valid JSON array after record"):
            parsed(whole[:cut] if cut else b" ")


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (b'[{"a": 1},\n{"a": 2} {"a": 3}]', "line 2, column 10 (byte 20)"),
        (b'[{"a": 1},\n{"a": tru}]', "line 2, column 7 (byte 17)"),
        (b'[{"a": 1},\n]', "line 2, column 1 (byte 11)"),
        (b'[{"a": 1}] [', "line 1, column 12 (byte 11)"),
        (b'{"a": 1}', "line 1, column 1 (byte 0)"),
    ],
)
def test_malformed_arrays_name_line_column_and_byte(data: bytes, where: str) -> None:
    with pytest.raises(
        DataError, match=rf"^f\.json: not a valid JSON array .* at {re.escape(where)}$"
    ):
        parsed(data)


def test_latin1_is_refused_at_its_first_foreign_byte() -> None:
    for data in [
        '[\n{"Name": "Direito"},\n{"Name": "Administração"}\n]'.encode("latin-1"),
        ('[{"Name": "' + "y" * FAST_LINE + 'ção"}]').encode("latin-1"),  # the general decoder
    ]:
        offset = data.index(b"\xe7")
        with pytest.raises(
            DataError, match=rf"f\.json: not UTF-8 at line \d+, .*\(byte {offset}\)"
        ):
            parsed(data)


def test_json_lines_keep_line_numbers_and_reject_malformed_lines() -> None:
    data = BOM + b'{"a": 1}\n\n  \nnot json\n{"a": NaN}\n[1]\n{"a": "\\ud800"}'
    got = list(iter_json_lines(io.BytesIO(data), "p.json"))
    assert [row for row, _ in got] == [1, 4, 5, 6, 7]
    assert got[0][1] == {"a": 1}
    assert got[1][1] == Malformed("not json", "Expecting value at column 1")
    assert got[2][1]["a"] != got[2][1]["a"]  # NaN, as the standard library reads it
    assert got[3][1] == [1] and got[4][1] == {"a": "\ud800"}
    latin = b'{"a": 1}\n{"a": "\xe9"}\n'
    offset = latin.index(b"\xe9")
    with pytest.raises(
        DataError, match=rf"p\.json: not UTF-8 at line 2, column 8 \(byte {offset}\)"
    ):
        list(iter_json_lines(io.BytesIO(latin), "p.json"))


def test_iter_records_tells_arrays_from_lines_and_empty_files() -> None:
    assert list(iter_records(io.BytesIO(b'\n {"a": 1}\n{"a": 2}\n'), "x")) == [
        (2, {"a": 1}),
        (3, {"a": 2}),
    ]
    assert list(iter_records(io.BytesIO(BOM + b' [{"a": 1}]'), "x", "lines")) == [(1, {"a": 1})]
    assert list(iter_records(io.BytesIO(b"  \n"), "x", "lines")) == []
    with pytest.raises(DataError, match=r"^x: the file is empty"):
        list(iter_records(io.BytesIO(BOM), "x", "array"))
