"""JSON text for the data generator, rendered by table lookup instead of json.dumps per record.

Each key's JSON fragment (`,"State":"Bahia"`) is made once per distinct value, a column is a
fragment table plus a numpy index into it, and a record is the concatenation of its fragments, so
a full-size day renders in seconds. A fragment of "" is a missing key (index -1 picks the b""
that ends every table). Nothing here decides what the data say: that is `generate.py`'s concern.
"""

from __future__ import annotations

from functools import lru_cache
from json.encoder import encode_basestring

import numpy as np

JOIN_STEP = 2_000  # records joined at once inside a chunk
DAY = 86_400  # seconds per day: the stride between the blocks of `times()`
Gen, Arr = np.random.Generator, np.ndarray
Column = tuple[Arr, Arr] | list[bytes]  # (fragment table, index) or rendered fragments


@lru_cache(maxsize=1)
def clock() -> list[str]:
    """ "00:00:00" ... "23:59:59", indexed by second of the day."""
    return [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)]


@lru_cache(maxsize=1)
def times() -> Arr:
    """The end of a timestamp fragment: ` 13:20:11.000"` by second, then `.0000"` ones, then
    `"` (date only) and b"" (missing)."""
    ends = [f' {t}.000"'.encode() for t in clock()] + [f' {t}.0000"'.encode() for t in clock()]
    return np.array(ends + [b'"', b""], dtype=object)


def table(key: str, values: list, closed: bool = True) -> Arr:
    """UTF-8 JSON fragments `,"key":value` per value, and b"" last (index -1: a missing key).
    With closed=False a string value is left open for a following fragment to finish."""
    head = "," + encode_basestring(key) + ":"
    frags = [(head + _json(v)).encode() for v in values]
    if not closed:
        frags = [f[:-1] for f in frags]
    return np.array(frags + [b""], dtype=object)


def _json(value: str | int | bool | None) -> str:
    """json.dumps(value, ensure_ascii=False) for the few types used, several times faster."""
    if isinstance(value, str):
        return encode_basestring(value)
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    return str(int(value))


def spelled(
    keys: tuple[str, str], values: list, index: Arr, spell: Arr, closed: bool = True
) -> Column:
    """A key written as `Page Name` or `PageName` depending on the line's spelling."""
    return respell(spelled_table(keys, values, closed), index, spell)


def spelled_table(keys: tuple[str, str], values: list, closed: bool = True) -> Arr:
    """Fragments for both spellings of a key: spaced ones, unspaced ones, then b""."""
    spaced, unspaced = (table(k, values, closed)[:-1] for k in keys)
    return np.concatenate([spaced, unspaced, np.array([b""], dtype=object)])


def respell(frags: Arr, index: Arr, spell: Arr) -> Column:
    """The column of a `spelled_table`: spell 1 moves an index into the unspaced half."""
    return frags, np.where(index < 0, -1, index + spell * ((frags.size - 1) // 2))


def uuid_fragments(rng: Gen, n: int, key: str, missing: bool = False) -> Arr:
    """`,"key":"<uuid4-like>"` for n random ids, built as one byte matrix (fast)."""
    head = f',"{key}":"'.encode()
    hexed = np.frombuffer(rng.bytes(16 * n).hex().encode(), dtype=np.uint8).reshape(n, 32)
    out = np.full((n, len(head) + 37), ord("-"), dtype=np.uint8)
    out[:, : len(head)] = np.frombuffer(head, dtype=np.uint8)
    out[:, -1] = ord('"')
    for a, b in ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32)):
        start = len(head) + a + (a > 0) + (a > 8) + (a > 12) + (a > 16)
        out[:, start : start + b - a] = hexed[:, a:b]
    out[:, len(head) + 14] = ord("4")
    frags = out.view(f"S{out.shape[1]}").ravel().astype(object)
    return np.append(frags, b"") if missing else frags


def render(cols: list[Column], start: int, stop: int, opener: bytes, closer: bytes) -> bytes:
    """Records start..stop as text: opener, the fragments of each key, closer, per record."""
    pieces = [
        c[start:stop] if isinstance(c, list) else c[0][c[1][start:stop]].tolist() for c in cols
    ]
    _strip_first_commas(pieces)
    n, k = stop - start, len(pieces) + 2
    flat = [opener] * (n * k)
    for j, piece in enumerate(pieces, 1):
        flat[j::k] = piece
    flat[k - 1 :: k] = [closer] * n
    # bytes.join costs a Py_buffer (80 bytes) per item: join in steps to bound that memory
    step = JOIN_STEP * k
    return b"".join([b"".join(flat[i : i + step]) for i in range(0, len(flat), step)])


def _strip_first_commas(pieces: list[list[bytes]]) -> None:
    """Drop the leading comma of each record's first present fragment (in place): usually the
    first column, further along only where the first keys are missing. Every fragment that can
    come first starts with a comma: the pieces that continue a value (a timestamp's time, a
    url's number) are empty whenever the piece they continue is missing."""
    pending = range(len(pieces[0]))
    for piece in pieces:
        left = []
        for i in pending:
            fragment = piece[i]
            if fragment:
                piece[i] = fragment[1:]
            else:
                left.append(i)
        if not left:
            return
        pending = left
