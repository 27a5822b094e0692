"""The dashboard's data: one cached loader over the analytics zone, and the frames pages draw.

Pages never open files: they ask an `AnalyticsStore` for small, sorted frames and for the
summary of the day it shows. The zone holds one partition per day (`day=<YYYY-MM-DD>/`, the same
files and a manifest.json published last; the days available are the partitions holding one),
the latest day's files again at its root, and the daily series (`series/daily.csv`). A store
shows one day, the latest unless a session chose another; a lake published before partitions
existed has only the root, whose manifest names its day.

The loaders are shared by every browser session (`pn.cache`); their cache key carries each
file's size and modification time, so a newly published file is read again, and `refresh()`
empties the caches for the rare replacement that keeps both. Only the small aggregate CSVs, the
manifests and the series are read here; the day's events (a million rows) belong to
`panel_app/events.py`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd
import panel as pn
import param

from tasks.errors import DataError
from tasks.resources.lake import Lake, get_lake

ZONE = "analytics"
MANIFEST = "manifest.json"
SERIES = "series/daily.csv"
PARTITIONS = "day=*/" + MANIFEST  # the days available: the partitions holding a manifest
_PARTITION = re.compile(r"^day=(\d{4}-\d{2}-\d{2})/" + re.escape(MANIFEST) + "$")
# the series' known columns, labelled; any other numeric column is plotted under its own name
SERIES_LABELS = {
    "page_views": "Page views",
    "identified_views": "Identified page views",
    "active_students": "Active students",
    "foreign_share": "Foreign share",
    "views_per_profile": "Page views per profile",
    "new_versions_students": "New versions of students",
    "new_versions_universities": "New versions of universities",
    "new_versions_courses": "New versions of courses",
    "new_versions_subjects": "New versions of subjects",
}
SHARES = ("foreign_share",)  # series columns that are shares, shown as percentages
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


def partition(day: str) -> str:
    """The folder (with its slash) of a day's partition in the analytics zone."""
    return f"day={day}/"


def _modified(info: dict) -> str:
    """A listing entry's modification time, whatever the backend calls it."""
    for key in ("mtime", "LastModified", "last_modified", "modifiedDate", "updated", "created"):
        if info.get(key):
            return str(info[key])
    return ""


def list_partitions(lake: Lake) -> dict[str, Stamp]:
    """day -> (size, modified) of its manifest, for every partition holding one; one listing."""
    base = lake.fs._strip_protocol(lake.path(ZONE)).rstrip("/")
    lake.fs.invalidate_cache(base)
    try:
        found = lake.fs.glob(f"{base}/{PARTITIONS}", detail=True)
    except FileNotFoundError:
        return {}
    days: dict[str, Stamp] = {}
    for path, info in found.items():
        name = lake.fs._strip_protocol(path)[len(base) + 1 :]
        match = _PARTITION.match(name)
        if match and info.get("type") != "directory":
            days[match.group(1)] = (int(info.get("size") or 0), _modified(info))
    return days


@pn.cache(max_items=48, hash_funcs=_LAKE_KEY)
def load_output(lake: Lake, name: str, stamp: Stamp, folder: str = "") -> pd.DataFrame:
    """One aggregate output of the root (`folder` "") or of a day's partition; `stamp` is
    only part of the key, so a new file misses.

    Keys are read as text with only the empty field as missing: "na" is Namibia, not NaN.
    """
    wanted = set(OUTPUTS[name]) | set(OPTIONAL)
    try:
        with lake.open(ZONE, folder + name) as handle:
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
        raise DataError(f"{folder}{name} in the {ZONE} zone could not be read: {exc}") from None


@pn.cache(max_items=64, hash_funcs=_LAKE_KEY)
def load_manifest(lake: Lake, stamp: Stamp, folder: str = "") -> dict:
    """A run's manifest (tasks/analytics/manifest.py): run date, outputs, event counts."""
    try:
        manifest = json.loads(lake.read_bytes(ZONE, folder + MANIFEST).decode("utf-8"))
        manifest["run_date"] = str(manifest["run_date"])
        return manifest
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{folder}{MANIFEST} in the {ZONE} zone could not be read: {exc}") from None


@pn.cache(max_items=4, hash_funcs=_LAKE_KEY)
def load_series(lake: Lake, stamp: Stamp) -> pd.DataFrame:
    """series/daily.csv: `day` (text, YYYY-MM-DD), then every column holding numbers only, as
    floats, one row per day in day order; a column with any text in it is left out."""
    try:
        with lake.open(ZONE, SERIES) as handle:
            frame = pd.read_csv(handle, dtype=str, keep_default_na=False, na_values=[""])
        if "day" not in frame.columns:
            raise ValueError("no column day")
        days = pd.to_datetime(frame["day"], format="%Y-%m-%d", errors="coerce")
        if days.isna().any():
            raise ValueError(f"a day that is not YYYY-MM-DD: {frame['day'][days.isna()].iloc[0]!r}")
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataError(f"{SERIES} in the {ZONE} zone could not be read: {exc}") from None
    series = pd.DataFrame({"day": days.dt.strftime("%Y-%m-%d")})
    for column in frame.columns:
        if column == "day":
            continue
        values = pd.to_numeric(frame[column], errors="coerce")
        if values.notna().sum() == frame[column].notna().sum():  # numbers (or empty) only
            series[column] = values.astype("float64")
    return series.drop_duplicates("day", keep="last").sort_values("day").reset_index(drop=True)


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
    """One per browser session: the day shown and the threshold are a session's choice, the
    data are shared."""

    threshold = param.Integer(
        default=100, bounds=(0, None), doc="Foreign countries need more page views than this."
    )
    day = param.String(
        default=None, allow_None=True, doc="The day shown (YYYY-MM-DD); None for the latest."
    )
    version = param.Integer(default=0, doc="Bumped by refresh(); views redraw when it changes.")

    def __init__(self, lake: Lake | None = None, **params: object) -> None:
        super().__init__(**params)
        self.lake = lake if lake is not None else get_lake()
        self._scan()

    # -- the days ------------------------------------------------------------------------------
    def _scan(self) -> None:
        """List the partitions (one listing) and read the root's manifest stamp: the layout
        every read of this store resolves its files against until the next scan."""
        partitions = list_partitions(self.lake)
        root = file_stamp(self.lake, MANIFEST)
        folders = {day: partition(day) for day in partitions}
        if root is not None:
            try:
                root_day = load_manifest(self.lake, root)["run_date"]
            except DataError:  # unreadable: the pages say so when they read it
                root_day = None
            if root_day is not None and root_day not in folders:
                folders[root_day] = ""  # a lake published before partitions: the root's day
        self._folders = dict(sorted(folders.items()))
        self._seen = (tuple(sorted(partitions.items())), root)

    def days(self) -> list[str]:
        """The days that can be shown, oldest first."""
        return list(self._folders)

    def latest_day(self) -> str | None:
        return next(reversed(self._folders), None)

    def shown_day(self) -> str | None:
        """The day chosen when it is available, else the latest; None before any run."""
        return self.day if self.day in self._folders else self.latest_day()

    def folder(self) -> str:
        """Where the shown day's files are: its partition, or the root ("")."""
        return self._folders.get(self.shown_day() or "", "")

    def path_of(self, name: str) -> str:
        """A file's name within the zone for the day shown (day=<day>/country.csv, say)."""
        return self.folder() + name

    # -- reading -------------------------------------------------------------------------------
    def missing(self, names: tuple[str, ...] = (*OUTPUTS, MANIFEST)) -> list[str]:
        """The files among `names` the day shown does not have (yet)."""
        return [name for name in names if not self.lake.exists(ZONE, self.path_of(name))]

    def has_outputs(self) -> bool:
        names = (*OUTPUTS, MANIFEST)
        return len(self.missing(names)) < len(names)

    def refresh(self) -> None:
        """Forget every cached read, look at the days again and tell the views to draw."""
        pn.state.clear_caches()  # every pn.cache loader of the app: outputs, events, warehouse
        self._scan()
        self.version += 1

    def reload_if_published(self) -> bool:
        """Refresh when a run published since the last look: a partition's manifest appeared
        or changed (an older day reprocessed too), or the root's did."""
        seen = (tuple(sorted(list_partitions(self.lake).items())), file_stamp(self.lake, MANIFEST))
        if seen == self._seen:
            return False
        self.refresh()
        return True

    def frame(self, name: str) -> pd.DataFrame:
        """An output's columns for the day shown; an empty frame when the file is missing."""
        stamp = file_stamp(self.lake, self.path_of(name))
        if stamp is None:
            return pd.DataFrame({c: pd.Series(dtype="object") for c in OUTPUTS[name]})
        return load_output(self.lake, name, stamp, self.folder())

    def manifest(self) -> dict | None:
        stamp = file_stamp(self.lake, self.path_of(MANIFEST))
        return None if stamp is None else load_manifest(self.lake, stamp, self.folder())

    def series(self) -> pd.DataFrame | None:
        """The daily series (`load_series`), or None before any run wrote it."""
        stamp = file_stamp(self.lake, SERIES)
        return None if stamp is None else load_series(self.lake, stamp)

    def summary(self) -> DaySummary | None:
        """The day shown in numbers, or None before the first run wrote a manifest."""
        manifest = self.manifest()
        if manifest is None:
            return None
        events = {k: int(v) for k, v in manifest.get("events", {}).items()}
        active = manifest.get("outputs", {}).get("active_students.csv", {}).get("rows")
        return DaySummary(
            run_date=manifest["run_date"],
            published_at=modified_at(self.lake, self.path_of(MANIFEST)),
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
