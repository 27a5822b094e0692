"""Lake files into Arrow batches (DuckDB, pyarrow), against the standard library's reading of the
same bytes: values, rows, the rows set aside, and the errors of files that cannot be read."""

from __future__ import annotations

import contextlib
import io
import json
import re
from typing import Any

import pytest

from tasks.entities import ENTITIES, EVENTS, Entity
from tasks.errors import DataError
from tasks.stage.parse import BOM, RECORD, REJECTED, ROW, read_batches

ENTITY = Entity("t", {"Id": "id", "Name": "name", "nested": "nested", "n": "n", "big": "big"})
RECORDS: list[Any] = [
    {"Id": 1, "Name": "Administração", "nested": {"a": [1, 2]}},
    {"Id": "2", "Name": 'quote " backslash \\ tab \t newline \n', "n": 1.5},
    {"Id": 3, "Name": "😀", "big": 2**70, "extra": "ignored"},
    [1, 2],
    42,
    "text",
    None,
    {"Id": 4, "Name": "x" * 200_000},  # a long record
    {"Id": True, "n": False, "Name": None},
    {},
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


def text(value: Any) -> str | None:
    """What stage keeps of a JSON value, computed here independently."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def expected_rows(records: list[Any], entity: Entity = ENTITY) -> list[dict]:
    rows = []
    for row, record in enumerate(records, start=1):
        values = record if isinstance(record, dict) else {}
        rows.append(
            {
                ROW: row,
                REJECTED: None if isinstance(record, dict) else ["record_is_a_json_object"],
                **{column: text(values.get(key)) for key, column in entity.columns.items()},
            }
        )
    return rows


def read(data: bytes, entity: Entity = ENTITY, batch_rows: int = 3) -> list[dict]:
    """Every row of every batch; each batch at most `batch_rows` rows."""
    rows: list[dict] = []
    opener = lambda: contextlib.nullcontext(io.BytesIO(data))  # noqa: E731
    for batch in read_batches(io.BytesIO(data), "f.json", entity, batch_rows, opener):
        assert batch.num_rows <= batch_rows
        rows += batch.to_pylist()
    return rows


def without_record(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != RECORD} for row in rows]


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("bom", [b"", BOM])
def test_array_layouts_read_as_the_standard_library_reads_them(layout: str, bom: bytes) -> None:
    data = bom + LAYOUTS[layout](RECORDS).encode()
    got = read(data)
    assert without_record(got) == expected_rows(json.loads(data.decode("utf-8-sig")))
    # each row's record is the element itself, as JSON
    assert [json.loads(r[RECORD]) if r[RECORD] else None for r in got] == RECORDS


def test_numbers_keep_their_value_and_integers_their_digits() -> None:
    records = [{"Id": 12}, {"Id": "12"}, {"Id": 12.0}, {"Id": 1.50}, {"Id": -0}, {"Id": 10**30}]
    data = b'[{"Id": 12}, {"Id": "12"}, {"Id": 12.0}, {"Id": 1.50}, {"Id": -0}, {"Id": 1e3},'
    data += b' {"Id": ' + str(10**30).encode() + b"}]"
    got = [row["id"] for row in read(data, ENTITIES["courses"])]
    # strings exactly; integers digit for digit; other numbers as the shortest text of their value
    assert got == ["12", "12", "12.0", "1.5", "0", "1000.0", str(10**30)]
    assert len(records) == 6


def test_nul_bytes_and_non_objects_are_set_aside_with_their_reasons() -> None:
    data = b'[{"Id": 1, "Name": "ok"}, {"Id": 2, "Name": "a\\u0000b"}, 42, ["x"], null]'
    got = read(data, ENTITIES["courses"])
    assert [(r[ROW], r[REJECTED]) for r in got] == [
        (1, None),
        (2, ["value_has_no_nul_byte(name)"]),
        (3, ["record_is_a_json_object"]),
        (4, ["record_is_a_json_object"]),
        (5, ["record_is_a_json_object"]),
    ]
    assert got[1][RECORD] is not None and json.loads(got[1][RECORD]) == {"Id": 2, "Name": "a\0b"}


def test_empty_files_and_empty_arrays() -> None:
    assert read(b" [ ] ") == []
    assert read(b"  \n", EVENTS) == []  # an empty part file has no events
    with pytest.raises(DataError, match=r"^f\.json: the file is empty"):
        read(BOM)


def test_every_cut_of_a_file_fails_naming_the_file() -> None:
    whole = LAYOUTS["one per line"](RECORDS[:3]).encode().rstrip()
    for cut in range(1, len(whole)):
        with pytest.raises(DataError, match=r"^f\.json: not a valid JSON array after record"):
            read(whole[:cut])


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (b'[{"a": 1},\n{"a": 2} {"a": 3}]', "line 2, column 10 (byte 20)"),
        (b'[{"a": 1},\n{"a": tru}]', "line 2, column 7 (byte 17)"),
        (b'[{"a": 1}] [', "line 1, column 12 (byte 11)"),
        (b'[{"a": 1},\n{"a": "\\ud800"}]', "line 2, column 8 (byte 18)"),
    ],
)
def test_malformed_arrays_name_line_column_and_byte(data: bytes, where: str) -> None:
    with pytest.raises(
        DataError, match=rf"^f\.json: not a valid JSON array .* at {re.escape(where)}$"
    ):
        read(data)


def test_latin1_is_refused_at_its_first_foreign_byte() -> None:
    for data in [
        '[\n{"Name": "Direito"},\n{"Name": "Administração"}\n]'.encode("latin-1"),
        ('[{"Name": "' + "y" * (3 << 20) + 'ção"}]').encode("latin-1"),  # past the first chunk
    ]:
        offset = data.index(b"\xe7")
        line = data[:offset].count(b"\n") + 1
        with pytest.raises(
            DataError, match=rf"f\.json: not UTF-8 at line {line}, .*\(byte {offset}\)"
        ):
            read(data, ENTITIES["courses"])


def test_json_lines_keep_line_numbers_and_set_malformed_lines_aside() -> None:
    lines = [
        '{"uuid": "a"}',
        "",
        "  ",
        "not json",
        '{"uuid": "b", "at": NaN}',
        "[1]",
        '{"uuid": "c", "custom_2": "\\ud800"}',
        '{"uuid": "d"} {"uuid": "e"}',
        '{"uuid": ',
        '{"uuid": "f", "PageName": "Perfil"}\r',
    ]
    data = BOM + "\n".join(lines).encode()
    got = sorted(read(data, EVENTS), key=lambda r: r[ROW])
    assert [(r[ROW], r[REJECTED]) for r in got] == [
        (1, None),
        (4, ["record_is_valid_json"]),
        (5, None),
        (6, ["record_is_a_json_object"]),
        (7, ["value_is_valid_unicode(custom_2)"]),
        (8, ["record_is_valid_json"]),
        (9, ["record_is_valid_json"]),
        (10, None),
    ]
    assert got[1][RECORD] == "not json" and got[6][RECORD] == '{"uuid": '
    assert got[-1]["page_name"] == "Perfil"  # the unspaced spelling fills the column
    latin = b'{"a": 1}\n{"a": "\xe9"}\n'
    offset = latin.index(b"\xe9")
    with pytest.raises(
        DataError, match=rf"f\.json: not UTF-8 at line 2, column 8 \(byte {offset}\)"
    ):
        read(latin, EVENTS)


def test_both_key_spellings_fill_one_column_the_spaced_first() -> None:
    lines = [
        {"Page Name": "Home", "LastAccessedUrl": "https://a"},
        {"PageName": "Perfil", "Page Name": None},
        {"PageName": "x", "Page Name": "Busca", "studentId_clientType": "s@iOS"},
    ]
    got = read("\n".join(json.dumps(r) for r in lines).encode(), EVENTS)
    assert [r["page_name"] for r in got] == ["Home", "Perfil", "Busca"]
    assert [r["last_accessed_url"] for r in got] == ["https://a", None, None]
    assert [r["student_id_client_type"] for r in got] == [None, None, "s@iOS"]


def test_the_layout_is_sniffed_so_any_source_may_come_either_way() -> None:
    lines = b'\n {"Id": 1, "Name": "a"}\n{"Id": 2}\n'
    assert [(r[ROW], r["id"]) for r in read(lines, ENTITIES["courses"])] == [(2, "1"), (3, "2")]
    array = BOM + b' [{"uuid": "u"}]'
    assert [(r[ROW], r["uuid"]) for r in read(array, EVENTS)] == [(1, "u")]
