"""A small analytics day written by plain Python with the Spark job's exact files and columns.

`full.csv` holds 240 events of 40 students; every aggregate output is derived from it here, the
way tasks/analytics/insight.py defines it, so tests can compute what each page must show. The
foreign countries and the event counts of the manifest are set by hand (a few countries sit
between 50 and 100 accesses, so the threshold widget has something to change).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

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


@dataclass
class Day:
    """The rows written, for tests to derive expectations from."""

    full: list[dict[str, str]] = field(default_factory=list)
    countries: list[tuple[str, int]] = field(default_factory=lambda: list(COUNTRIES))
    users: list[tuple[str, int]] = field(default_factory=lambda: list(USERS))
    events: dict[str, int] = field(default_factory=lambda: dict(EVENTS))


def full_events() -> list[dict[str, str]]:
    """240 events: student i has 3 + i % 7 views, client, page and hour cycling."""
    rows = []
    for i in range(40):
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
                "at": f"{RUN_DATE} {(i * 5 + j * 3) % 24:02d}:{(i * 7 + j) % 60:02d}:00.000",
                "browser": "Chrome" if j % 3 else "Firefox",
                "country": "pt" if (i, j) == (7, 1) else "br",
                "page_name": page,
                "last_accessed_url": f"https://www.passeidireto.com/{page.split()[0].lower()}/{i}{j}",
            })  # fmt: skip
    while len(rows) < 240:  # top up to a round number with one more student's views
        rows.append({**rows[-1], "at": f"{RUN_DATE} 23:{len(rows) % 60:02d}:30.000"})
    return sorted(rows[:240], key=lambda r: (r["student_id"], r["at"], r["page_name"]))


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
        "run_date": RUN_DATE,
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
        path.unlink()
