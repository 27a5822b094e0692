"""The dashboard's data: one cached loader over the analytics zone, and the frames pages draw.

Pages never open files: they ask an `AnalyticsStore` for small, sorted frames. The loader is shared
by every browser session (`pn.cache`), so a 1,000,000-row full.csv is read once, and only the two
columns the charts need; its cache key carries the file's size and modification time, so a newer
file is read again, and `refresh()` empties the cache for the rare replacement that keeps both.
"""

from __future__ import annotations

import pandas as pd
import panel as pn
import param

from tasks.errors import DataError
from tasks.resources.lake import Lake, get_lake

ZONE = "analytics"
COUNTRY, USERS, FULL = "country.csv", "users.csv", "full.csv"
OUTPUTS = (COUNTRY, USERS, FULL)
EMPTY_MESSAGE = (
    "No analytics outputs yet. Run `pdbi generate --scale 0.01` then `pdbi run --date 2017-11-16`."
)
MISSING_LABEL = "(missing)"  # shown for an empty key (a student without a state, say)

# Columns read from each output; full.csv has twelve, the dashboard needs two.
_COLUMNS: dict[str, tuple[str, ...]] = {
    COUNTRY: ("country", "count"),
    USERS: ("custom_4", "count"),
    FULL: ("student_id", "state"),
}
_CHUNK_ROWS = 200_000

Stamp = tuple[int, str]


def file_stamp(lake: Lake, name: str) -> Stamp | None:
    """(size, modified) of an analytics output, or None when it is not there yet."""
    if not lake.exists(ZONE, name):
        return None
    try:
        modified = str(lake.fs.modified(lake.path(ZONE, name)))
    except (NotImplementedError, OSError, KeyError, ValueError):
        modified = ""  # some fsspec backends keep no time; size and refresh() still work
    return lake.size(ZONE, name), modified


@pn.cache(max_items=12, hash_funcs={Lake: lambda lake: lake.url.encode()})
def load_output(lake: Lake, name: str, stamp: Stamp) -> pd.DataFrame:
    """Read one output's needed columns; `stamp` is only part of the key, so a new file misses.

    Keys are read as text with only the empty field as missing: "na" is Namibia, not NaN.
    full.csv is read in chunks and reduced to distinct (student_id, state) pairs as it goes,
    which keeps both the peak memory and the cached frame small.
    """
    columns = list(_COLUMNS[name])
    key_dtypes = {column: str for column in columns if column != "count"}
    try:
        with lake.open(ZONE, name) as handle:
            chunks = pd.read_csv(
                handle,
                usecols=columns,
                dtype=key_dtypes,
                keep_default_na=False,
                na_values=[""],
                chunksize=_CHUNK_ROWS,
            )
            parts = [chunk.drop_duplicates() if name == FULL else chunk for chunk in chunks]
        return _tidy(parts, columns, distinct=name == FULL)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataError(f"{name} in the {ZONE} zone could not be read: {exc}") from None


def _tidy(parts: list[pd.DataFrame], columns: list[str], distinct: bool) -> pd.DataFrame:
    """One frame with plain-text keys, MISSING_LABEL for empty ones, and integer counts."""
    if not parts:
        return pd.DataFrame({column: pd.Series(dtype="object") for column in columns})
    frame = pd.concat(parts, ignore_index=True)
    if distinct:
        frame = frame.drop_duplicates(ignore_index=True)
    for column in columns:
        if column == "count":
            frame[column] = pd.to_numeric(frame[column], errors="raise").astype("int64")
        else:
            frame[column] = frame[column].fillna(MISSING_LABEL)
    return frame[columns]


def _ranked(frame: pd.DataFrame, key: str, value: str) -> pd.DataFrame:
    """Largest first, ties by name, so charts and tables never reshuffle between reloads."""
    ranked = frame.sort_values([value, key], ascending=[False, True], kind="stable")
    return ranked.reset_index(drop=True)


class AnalyticsStore(param.Parameterized):
    """One per browser session: the threshold is a session's choice, the data are shared."""

    threshold = param.Integer(
        default=100, bounds=(0, None), doc="Foreign countries need more page views than this."
    )
    version = param.Integer(default=0, doc="Bumped by refresh(); views redraw when it changes.")

    def __init__(self, lake: Lake | None = None, **params: object) -> None:
        super().__init__(**params)
        self.lake = lake if lake is not None else get_lake()

    def missing(self) -> list[str]:
        """The outputs not in the analytics zone yet."""
        return [name for name in OUTPUTS if not self.lake.exists(ZONE, name)]

    def has_outputs(self) -> bool:
        return len(self.missing()) < len(OUTPUTS)

    def refresh(self) -> None:
        """Forget every cached read and tell the views to draw again."""
        load_output.clear()
        self.version += 1

    def frame(self, name: str) -> pd.DataFrame:
        """An output's needed columns; an empty frame when the file is missing."""
        stamp = file_stamp(self.lake, name)
        if stamp is None:
            return pd.DataFrame({column: pd.Series(dtype="object") for column in _COLUMNS[name]})
        return load_output(self.lake, name, stamp)

    def users_per_state(self) -> pd.DataFrame:
        """Distinct students per state (columns state, students), most first."""
        pairs = self.frame(FULL)
        counts = pairs.groupby("state", sort=False)["student_id"].nunique()
        frame = counts.rename("students").astype("int64").reset_index()
        return _ranked(frame, "state", "students")

    def foreign_countries(self) -> pd.DataFrame:
        """Countries with more page views than `threshold` (columns country, count), most first."""
        totals = self._totals(COUNTRY, "country")
        return _ranked(totals[totals["count"] > self.threshold], "country", "count")

    def users_per_profile(self) -> pd.DataFrame:
        """Events per user profile (columns custom_4, count), most first; values as exported."""
        return _ranked(self._totals(USERS, "custom_4"), "custom_4", "count")

    def _totals(self, name: str, key: str) -> pd.DataFrame:
        """Sum repeated keys, so a file written in parts still gives one bar per key."""
        frame = self.frame(name)
        totals = frame.groupby(key, sort=False)["count"].sum().astype("int64")
        return totals.reset_index()
