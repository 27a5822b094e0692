"""A small analytics day written by plain Python with the Spark job's exact files and columns.

`full.csv` holds 240 events of 40 students; every aggregate output is derived from it here, the
way tasks/analytics/insight.py defines it, so tests can compute what each page must show. The
foreign countries and the event counts of the manifest are set by hand (a few countries sit
between 50 and 100 accesses, so the threshold widget has something to change).

`write_days` publishes the partitioned zone instead: an earlier day (150 events of 28 students,
other counts) and the day above, each in `day=<day>/` with its manifest and `full/part-*.parquet`,
the latest day's files again at the root, and `series/daily.csv` with a row per day.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tasks.resources.lake import Lake

RUN_DATE = "2017-11-16"
FULL_HEADER = [
    "student_id", "client", "at", "browser", "country", "custom_4",
    "page_name", "last_accessed_url", "state", "city", "university", "course",
]  # fmt: skip
STATES = [("São Paulo", "Campinas"), ("Rio de Janeiro", "Niterói"), ("Minas Gerais", "Uberaba"),
          ("Bahia", "Salvador"), ("", "")]  # fmt: skip
COURSES = ["Direito", "Administração", "Engenharia Civil", "Pedagogia"]
UNIVERSITIES = ["Universidade Paulista", "Universidade Estácio de Sá", "Universidade de São Paulo"]
CLIENTS = ["Website", "Webapp", "Android", "iOS"]
PROFILES = ["Core User", "Casual User", "Cold User", "New User", "unknown"]
# page name -> category; one name has a comma and quotes, to test the CSV round trip
PAGES = {"Home": "Home", "Arquivo": "Material", 'Busca "Direito, Civil"': "Busca",
         "Perfil": "Usuário", "Disciplina": "Disciplina"}  # fmt: skip
COUNTRIES = [("us", 1500), ("pt", 320), ("ar", 180), ("de", 90), ("fr", 75), ("jp", 20)]
USERS = [("Core User", 2400), ("Casual User", 1300), ("Cold User", 410), ("New User", 95),
         ("unknown", 60), ("yes", 3)]  # fmt: skip
EVENTS = {"read": 6300, "malformed": 7, "anonymous": 1250, "identified": 5043, "null_country": 43}
EARLIER_DATE = "2017-11-15"  # the partitioned zone's other day: every figure differs
EARLIER_COUNTRIES = [("us", 900), ("pt", 210), ("ar", 120), ("de", 60), ("jp", 15)]
EARLIER_USERS = [("Core User", 1500), ("Casual User", 900), ("Cold User", 300), ("New User", 40)]
EARLIER_EVENTS = {"read": 4100, "malformed": 3, "anonymous": 800, "identified": 3290,
                  "null_country": 12}  # fmt: skip
SERIES_EXTRA = "late_events"  # a series column the dashboard has no label for


@dataclass
class Day:
    """The rows written, for tests to derive expectations from."""

    full: list[dict[str, str]] = field(default_factory=list)
    run_date: str = RUN_DATE
    countries: list[tuple[str, int]] = field(default_factory=lambda: list(COUNTRIES))
    users: list[tuple[str, int]] = field(default_factory=lambda: list(USERS))
    events: dict[str, int] = field(default_factory=lambda: dict(EVENTS))


def full_events(
    run_date: str = RUN_DATE, students: int = 40, total: int = 240
) -> list[dict[str, str]]:
    """`total` events: student i has 3 + i % 7 views, client, page and hour cycling."""
    rows = []
    for i in range(students):
        state, city = STATES[(0, 0, 0, 1, 1, 2, 3, 4)[i % 8]]  # São Paulo first, as in life
        student = {
            "student_id": f"s{i:03d}",
            "state": state,
            "city": city,
            "university": UNIVERSITIES[(i // 5) % len(UNIVERSITIES)],
            "course": COURSES[(i // 2 + i // 7) % len(COURSES)],
            "custom_4": PROFILES[i % len(PROFILES)],
        }
        for j in range(3 + i % 7):
            page = list(PAGES)[(i + j) % len(PAGES)]
            rows.append({
                **student,
                "client": CLIENTS[(i + j) % len(CLIENTS)],
                "at": f"{run_date} {(i * 5 + j * 3) % 24:02d}:{(i * 7 + j) % 60:02d}:00.000",
                "browser": "Chrome" if j % 3 else "Firefox",
                "country": "pt" if (i, j) == (7, 1) else "br",
                "page_name": page,
                "last_accessed_url": f"https://www.passeidireto.com/{page.split()[0].lower()}/{i}{j}",
            })  # fmt: skip
    while len(rows) < total:  # top up to a round number with one more student's views
        rows.append({**rows[-1], "at": f"{run_date} 23:{len(rows) % 60:02d}:30.000"})
    return sorted(rows[:total], key=lambda r: (r["student_id"], r["at"], r["page_name"]))


def _views_per(rows: list[dict[str, str]], key) -> list[tuple[str, int, int]]:
    views: Counter = Counter()
    students: dict[str, set] = defaultdict(set)
    for row in rows:
        views[key(row)] += 1
        students[key(row)].add(row["student_id"])
    return [(k, views[k], len(students[k])) for k in sorted(views, key=lambda k: (-views[k], k))]


def _csv(header: list[str], rows) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return text.getvalue().encode("utf-8")


def aggregate_files(day: Day) -> dict[str, bytes]:
    """Every analytics CSV, from the day's rows."""
    full = day.full
    per_state: dict[str, set] = defaultdict(set)
    for row in full:
        per_state[row["state"]].add(row["student_id"])
    states = sorted(per_state.items(), key=lambda kv: (-len(kv[1]), kv[0] == "", kv[0]))
    hours = sorted((h, views) for h, views, _ in _views_per(full, lambda r: int(r["at"][11:13])))
    active = defaultdict(list)
    for row in full:
        active[row["student_id"]].append(row)
    return {
        "country.csv": _csv(["country", "count"], day.countries),
        "users.csv": _csv(["custom_4", "count"], day.users),
        "full.csv": _csv(FULL_HEADER, ([r[c] for c in FULL_HEADER] for r in full)),
        "states.csv": _csv(["state", "students"], ((s, len(ids)) for s, ids in states)),
        "hours.csv": _csv(["hour", "page_views"], hours),
        "clients.csv": _csv(["client", "page_views"],
                            (r[:2] for r in _views_per(full, lambda r: r["client"]))),
        "categories.csv": _csv(["page_category", "page_views"],
                               (r[:2] for r in _views_per(full, lambda r: PAGES[r["page_name"]]))),
        "universities.csv": _csv(["university", "page_views", "students"],
                                 _views_per(full, lambda r: r["university"])),
        "courses.csv": _csv(["course", "page_views", "students"],
                            _views_per(full, lambda r: r["course"])),
        "active_students.csv": _csv(
            ["student_id", "page_views", "first_at", "last_at", "clients", "in_warehouse",
             "state", "university", "course"],
            ([sid, len(rs), min(r["at"][:19] for r in rs), max(r["at"][:19] for r in rs),
              "|".join(sorted({r["client"] for r in rs})), "true", rs[0]["state"],
              rs[0]["university"], rs[0]["course"]] for sid, rs in sorted(active.items())),
        ),
    }  # fmt: skip


def manifest(day: Day, files: dict[str, bytes]) -> bytes:
    """manifest.json as tasks/analytics/manifest.py writes it."""
    outputs = {
        name: {
            "rows": body.count(b"\n") - 1,
            "bytes": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
        }
        for name, body in sorted(files.items())
    }
    document = {
        "run_date": day.run_date,
        "outputs": outputs,
        "events": dict(sorted(day.events.items())),
    }
    return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("utf-8")


def write_day(lake_root: Path) -> Day:
    """Publish the day into lake_root/analytics/, the manifest last, as the pipeline does."""
    day = Day(full=full_events())
    analytics = lake_root / "analytics"
    analytics.mkdir(parents=True, exist_ok=True)
    files = aggregate_files(day)
    for name, body in [*files.items(), ("manifest.json", manifest(day, files))]:
        temp = analytics / f".{name}.tmp"  # whole or not at all, as tasks/resources/lake.py does
        temp.write_bytes(body)
        os.replace(temp, analytics / name)
    return day


def publish_day(lake: Lake) -> Day:
    """The same day through the lake module, for lakes that are not folders (memory://)."""
    day = Day(full=full_events())
    files = aggregate_files(day)
    for name, body in [*files.items(), ("manifest.json", manifest(day, files))]:
        with lake.write_atomic("analytics", name) as out:
            out.write(body)
    return day


def remove_day(lake_root: Path) -> None:
    for path in (lake_root / "analytics").glob("*"):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def earlier_day() -> Day:
    return Day(
        full=full_events(EARLIER_DATE, students=28, total=150),
        run_date=EARLIER_DATE,
        countries=list(EARLIER_COUNTRIES),
        users=list(EARLIER_USERS),
        events=dict(EARLIER_EVENTS),
    )


def all_days() -> dict[str, Day]:
    """The partitioned zone's days, oldest first."""
    return {EARLIER_DATE: earlier_day(), RUN_DATE: Day(full=full_events())}


def series_rows(days: dict[str, Day]) -> list[dict[str, object]]:
    """series/daily.csv's rows, from the days' own figures."""
    rows = []
    for n, (date, day) in enumerate(sorted(days.items())):
        events = day.events
        profiles = {row["custom_4"] for row in day.full}
        rows.append({
            "day": date,
            "page_views": events["identified"] + events["anonymous"],
            "identified_views": events["identified"],
            "active_students": len({row["student_id"] for row in day.full}),
            "foreign_share": round(sum(c for _, c in day.countries)
                                   / (events["identified"] - events["null_country"]), 6),
            "views_per_profile": round(len(day.full) / len(profiles), 4),
            "new_versions_students": 40 - 12 * n,
            "new_versions_universities": 3,
            "new_versions_courses": 4 + n,
            "new_versions_subjects": 0,
            SERIES_EXTRA: 5 * (n + 1),
        })  # fmt: skip
    return rows


def full_parquet(rows: list[dict[str, str]], folder: Path, parts: int = 2) -> None:
    """full.csv's rows as Spark writes them beside it: ordered part files of string columns."""
    folder.mkdir(parents=True, exist_ok=True)
    size = -(-len(rows) // parts)
    schema = pa.schema([(c, pa.string()) for c in FULL_HEADER])
    for part in range(parts):
        chunk = rows[part * size : (part + 1) * size]
        table = pa.table({c: [r[c] or None for r in chunk] for c in FULL_HEADER}, schema=schema)
        pq.write_table(table, folder / f"part-{part:05d}-fixture.snappy.parquet")


def write_days(lake_root: Path) -> dict[str, Day]:
    """The partitioned analytics zone: each day's partition (manifest last), the latest day at
    the root, the daily series."""
    days = all_days()
    analytics = lake_root / "analytics"
    for date, day in days.items():
        folder = analytics / f"day={date}"
        folder.mkdir(parents=True, exist_ok=True)
        files = aggregate_files(day)
        full_parquet(day.full, folder / "full")
        for name, body in [*files.items(), ("manifest.json", manifest(day, files))]:
            temp = folder / f".{name}.tmp"
            temp.write_bytes(body)
            os.replace(temp, folder / name)
    write_day(lake_root)  # the latest day at the root, as before partitions
    series = series_rows(days)
    (analytics / "series").mkdir(exist_ok=True)
    header = list(series[0])
    (analytics / "series" / "daily.csv").write_bytes(
        _csv(header, ([row[c] for c in header] for row in series))
    )
    return days
