"""One file's records as stage text columns, ready for validation and COPY.

A record's values become the text stage keeps (numbers and booleans as JSON spells them, nested
values as JSON). Rows that cannot even be validated are set aside with a reason: what is not
JSON, what is not a JSON object, and values PostgreSQL text cannot hold (a NUL byte, a lone
surrogate).
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tasks.entities import Entity
from tasks.stage.parse import Malformed, as_text


@dataclass
class Batch:
    """One file's records as stage text columns, for validation and COPY, and the rows
    rejected before validation: not JSON, not a JSON object, a NUL byte, a lone surrogate."""

    source: str
    read: int  # rows the file held, records or not
    rows: list[int]  # source row of each record
    records: list[dict]
    arrays: dict[str, pa.Array]  # stage column -> text per record, for validation and COPY
    rejected: dict[int, list[str]]  # source row -> reasons found while reading
    raw: dict[int, Any]  # source row -> what the file held, for rows that are not records


def read_batch(entity: Entity, records: Iterable[tuple[int, Any]], source: str) -> Batch:
    """Collect a file's records as text columns. Per record, one C-level pass picks the values
    of every key (walking each record once, not once per column); the rest is per column."""
    keys = [*entity.columns, *entity.aliases]
    rows: list[int] = []
    kept: list[dict] = []
    rejected: dict[int, list[str]] = {}
    raw: dict[int, Any] = {}
    add_row, add_record = rows.append, kept.append
    with _no_cycle_collection():
        for row, record in records:
            if type(record) is dict:
                add_row(row)
                add_record(record)
            elif isinstance(record, Malformed):
                rejected[row], raw[row] = ["record_is_valid_json"], record.text
            else:
                rejected[row], raw[row] = ["record_is_a_json_object"], record
        picked = [tuple(map(record.get, keys)) for record in kept]
    columns = zip(*picked, strict=True) if picked else [()] * len(keys)
    values: dict[str, Any] = dict(zip(keys, columns, strict=True))
    for alias, key in entity.aliases.items():  # the unspaced spelling fills in a missing key
        values[key] = [
            v if v is not None else a for v, a in zip(values[key], values[alias], strict=True)
        ]
    arrays = {
        column: _text_column(values.get(key, ()), column, rows, rejected)
        for key, column in entity.columns.items()
    }
    return Batch(source, len(rows) + len(raw), rows, kept, arrays, rejected, raw)


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Keeping a million parsed records alive makes the cycle collector rescan them over and
    over (a third of the reading time); records hold no cycles, so it pauses while they pile up."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _text_column(
    values: Sequence[Any], column: str, rows: list[int], rejected: dict[int, list[str]]
) -> pa.Array:
    """Values as stage text; rows whose text PostgreSQL cannot hold are rejected with a reason."""
    try:
        array = pa.array(values, pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid, UnicodeEncodeError):
        values = [
            v if (kind := type(v)) is str or v is None else str(v) if kind is int else as_text(v)
            for v in values
        ]
        try:
            array = pa.array(values, pa.string())
        except UnicodeEncodeError:  # a lone surrogate, from a \ud800 escape
            for i in [i for i, v in enumerate(values) if v is not None and not _encodes(v)]:
                rejected.setdefault(rows[i], []).append(f"value_is_valid_unicode({column})")
                values[i] = None
            array = pa.array(values, pa.string())
    nul = pc.match_substring(array, "\x00").fill_null(False).to_numpy(zero_copy_only=False)
    for i in np.flatnonzero(nul):
        rejected.setdefault(rows[i], []).append(f"value_has_no_nul_byte({column})")
    return array


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
