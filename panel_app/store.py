"""The dashboard's data: one cached loader over the analytics zone, and the frames pages draw.

Pages never open files: they ask an `AnalyticsStore` for small, sorted frames and for the day's
summary. The loaders are shared by every browser session (`pn.cache`); their cache key carries
each file's size and modification time, so a newly published file is read again, and
`refresh()` empties the caches for the rare replacement that keeps both. Only the small
aggregate CSVs and the manifest are read here; `full.csv` (a million rows) belongs to
`panel_app/events.py`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd
import panel as pn
import param

from tasks.errors import DataError
from tasks.resources.lake import Lake, get_lake

ZONE = "analytics"
MANIFEST = "manifest.json"
RUN_COMMAND = "pdbi run --date 2017-11-16"
EMPTY_MESSAGE = (
    f"No analytics outputs yet. Run `pdbi generate --scale 0.01` then `{RUN_COMMAND}` to make them."
)
MISSING_LABEL = "(missing)"  # shown for an empty key (a student without a state, say)
COUNTS = ("count", "students", "page_views")

# The aggregate outputs of the Spark job (tasks/analytics/keyed.py): the columns each must have.
OUTPUTS: dict[str, tuple[str, ...]] = {
    "country.csv": ("country", "count"),
    "users.csv": ("custom_4", "count"),
    "states.csv": ("state", "students"),
    "hours.csv": ("hour", "page_views"),
    "clients.csv": ("client", "page_views"),
    "categories.csv": ("page_category", "page_views"),
    "universities.csv": ("university", "page_views", "students"),
    "courses.csv": ("course", "page_views", "students"),
}
OPTIONAL = ("students",)  # read when a file has it (earlier runs wrote it in every output)
_LAKE_KEY = {Lake: lambda lake: lake.url.encode()}

Stamp = tuple[int, str]


def file_stamp(lake: Lake, name: str) -> Stamp | None:
    """(size, modified) of an analytics file, or None when it is not there yet."""
    if not lake.exists(ZONE, name):
        return None
    try:
        modified = str(lake.fs.modified(lake.path(ZONE, name)))
    except (NotImplementedError, OSError, KeyError, ValueError):
        modified = ""  # some fsspec backends keep no time; size and refresh() still work
    return lake.size(ZONE, name), modified


@pn.cache(max_items=24, hash_funcs=_LAKE_KEY)
def load_output(lake: Lake, name: str, stamp: Stamp) -> pd.DataFrame:
    """One aggregate output; `stamp` is only part of the key, so a new file misses.

    Keys are read as text with only the empty field as missing: "na" is Namibia, not NaN.
    """
    wanted = set(OUTPUTS[name]) | set(OPTIONAL)
    try:
        with lake.open(ZONE, name) as handle:
            frame = pd.read_csv(
                handle,
                usecols=lambda column: column in wanted,
                dtype={c: str for c in OUTPUTS[name] if c not in COUNTS},
                keep_default_na=False,
                na_values=[""],
            )
        lacking = [c for c in OUTPUTS[name] if c not in frame.columns]
        if lacking:
            raise ValueError(f"no column {', '.join(lacking)}")
        columns = [c for c in dict.fromkeys((*OUTPUTS[name], *OPTIONAL)) if c in frame.columns]
        for column in columns:
            if column in COUNTS:
                frame[column] = pd.to_numeric(frame[column], errors="raise").astype("int64")
            else:
                frame[column] = frame[column].fillna(MISSING_LABEL)
        return frame[columns]
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataError(f"{name} in the {ZONE} zone could not be read: {exc}") from None


@pn.cache(max_items=4, hash_funcs=_LAKE_KEY)
def load_manifest(lake: Lake, stamp: Stamp) -> dict:
    """The run's manifest (tasks/analytics/manifest.py): run date, outputs, event counts."""
    try:
        manifest = json.loads(lake.read_bytes(ZONE, MANIFEST).decode("utf-8"))
        manifest["run_date"] = str(manifest["run_date"])
        return manifest
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{MANIFEST} in the {ZONE} zone could not be read: {exc}") from None


@dataclass(frozen=True)
class DaySummary:
    """The Overview's numbers, from the manifest and country.csv."""

    run_date: str
    published_at: datetime | None
    read: int
    malformed: int
    anonymous: int
    identified: int
    null_country: int
    active_students: int | None
    foreign_views: int

    @property
    def page_views(self) -> int:
        return self.identified + self.anonymous

    @property
    def identified_share(self) -> float:
        return self.identified / self.page_views if self.page_views else 0.0

    @property
    def foreign_share(self) -> float:
        """Foreign page views among identified page views that name a country."""
        with_country = self.identified - self.null_country
        return self.foreign_views / with_country if with_country else 0.0


def modified_at(lake: Lake, name: str) -> datetime | None:
    """When a file was last written, in UTC, if the backend keeps the time."""
    try:
        when = lake.fs.modified(lake.path(ZONE, name))
    except (NotImplementedError, OSError, KeyError, ValueError):
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def ranked(frame: pd.DataFrame, key: str, value: str) -> pd.DataFrame:
    """Largest first, ties by name and the missing key after the named ones, so charts and
    tables never reshuffle between reloads."""
    missing = (frame[key] == MISSING_LABEL).rename("_missing")
    order = pd.concat([frame, missing], axis=1).sort_values(
        [value, "_missing", key], ascending=[False, True, True], kind="stable"
    )
    return order.drop(columns="_missing").reset_index(drop=True)


class AnalyticsStore(param.Parameterized):
    """One per browser session: the threshold is a session's choice, the data are shared."""

    threshold = param.Integer(
        default=100, bounds=(0, None), doc="Foreign countries need more page views than this."
    )
    version = param.Integer(default=0, doc="Bumped by refresh(); views redraw when it changes.")

    def __init__(self, lake: Lake | None = None, **params: object) -> None:
        super().__init__(**params)
        self.lake = lake if lake is not None else get_lake()
        self._seen_manifest = file_stamp(self.lake, MANIFEST)

    def missing(self, names: tuple[str, ...] = (*OUTPUTS, MANIFEST)) -> list[str]:
        """The files among `names` not in the analytics zone yet."""
        return [name for name in names if not self.lake.exists(ZONE, name)]

    def has_outputs(self) -> bool:
        names = (*OUTPUTS, MANIFEST)
        return len(self.missing(names)) < len(names)

    def refresh(self) -> None:
        """Forget every cached read and tell the views to draw again."""
        pn.state.clear_caches()  # every pn.cache loader of the app: outputs, events, warehouse
        self._seen_manifest = file_stamp(self.lake, MANIFEST)
        self.version += 1

    def reload_if_published(self) -> bool:
        """Refresh when a manifest newer than the one last seen appears (a run finished)."""
        stamp = file_stamp(self.lake, MANIFEST)
        if stamp == self._seen_manifest:
            return False
        self.refresh()
        return True

    def frame(self, name: str) -> pd.DataFrame:
        """An output's columns; an empty frame when the file is missing."""
        stamp = file_stamp(self.lake, name)
        if stamp is None:
            return pd.DataFrame({c: pd.Series(dtype="object") for c in OUTPUTS[name]})
        return load_output(self.lake, name, stamp)

    def manifest(self) -> dict | None:
        stamp = file_stamp(self.lake, MANIFEST)
        return None if stamp is None else load_manifest(self.lake, stamp)

    def summary(self) -> DaySummary | None:
        """The day in numbers, or None before the first run wrote a manifest."""
        manifest = self.manifest()
        if manifest is None:
            return None
        events = {k: int(v) for k, v in manifest.get("events", {}).items()}
        active = manifest.get("outputs", {}).get("active_students.csv", {}).get("rows")
        return DaySummary(
            run_date=manifest["run_date"],
            published_at=modified_at(self.lake, MANIFEST),
            read=events.get("read", 0),
            malformed=events.get("malformed", 0),
            anonymous=events.get("anonymous", 0),
            identified=events.get("identified", 0),
            null_country=events.get("null_country", 0),
            active_students=None if active is None else int(active),
            foreign_views=int(self.frame("country.csv")["count"].sum()),
        )

    def users_per_state(self) -> pd.DataFrame:
        """Distinct students per state (columns state, students), most first."""
        return ranked(self._totals("states.csv", "state", "students"), "state", "students")

    def foreign_countries(self) -> pd.DataFrame:
        """Countries with more page views than `threshold` (columns country, count), most first."""
        totals = self._totals("country.csv", "country", "count")
        return ranked(totals[totals["count"] > self.threshold], "country", "count")

    def users_per_profile(self) -> pd.DataFrame:
        """Events per user profile (columns custom_4, count), most first; values as exported."""
        return ranked(self._totals("users.csv", "custom_4", "count"), "custom_4", "count")

    def views_per(self, name: str, limit: int | None = None) -> pd.DataFrame:
        """page_views (and students, when the output has them) per key, most viewed first."""
        key = OUTPUTS[name][0]
        frame = ranked(self._totals(name, key, "page_views", "students"), key, "page_views")
        return frame if limit is None else frame.head(limit)

    def views_per_hour(self) -> pd.DataFrame:
        """Page views of all 24 hours in order (0 for an hour without any); views with no
        readable time are left out."""
        frame = self.frame("hours.csv")
        hours = frame[frame["hour"] != MISSING_LABEL].astype({"hour": "int64"})
        totals = hours.groupby("hour")["page_views"].sum()
        full_day = totals.reindex(range(24), fill_value=0).astype("int64")
        return full_day.rename_axis("hour").reset_index()

    def _totals(self, name: str, key: str, *values: str) -> pd.DataFrame:
        """Sum repeated keys, so a file written in parts still gives one bar per key; values
        the file does not have are left out."""
        frame = self.frame(name)
        present = [value for value in values if value in frame.columns]
        totals = frame.groupby(key, sort=False)[present].sum().astype("int64")
        return totals.reset_index()
