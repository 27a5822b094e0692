"""A hand-written day for the analytics tests, and its answers computed in plain Python.

The events hold every quirk the job must survive; the expected CSV rows are derived from the
same lines with json/csv/datetime only, never with Spark or the code under test; only the
lines the events suite's critical rules accept count (tests/event_rules.py, written again in
plain Python). Shared by test_analytics_job.py, test_analytics_outputs.py and
test_events_validation.py.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from tests.event_rules import failed_rules

PROFILES = {"CoreUser": "Core User", "CasualUser": "Casual User", "ColdUser": "Cold User",
            "NewUser": "New User"}  # fmt: skip


def _event(sic: str | None, **fields: Any) -> str:
    record = {"name": "PageView", "at": "2017-11-16 10:00:00.000", "browser": "Chrome"}
    if sic is not None:
        record["studentId_clientType"] = sic
    record.update(fields)
    return json.dumps(record, ensure_ascii=False)


MALFORMED_LINE = '{"studentId_clientType": "s1@Website", "country": "us", "Page Name": '

EVENT_LINES = [
    # s1: spaced keys, Brazil
    _event("s1@Website", **{"Page Name": "Home", "Last Accessed Url": "/home", "country": "br",
                            "custom_4": "Core User", "uuid": "u1", "nth": 1,
                            "Page Category": "Home"}),
    # s1: unspaced keys, upper-case foreign country, unspaced profile, four fraction digits
    _event("s1@Android", at="2017-11-16 10:05:00.0000", browser="App",
           **{"PageName": "Materia", "LastAccessedUrl": "/materia/1", "PageCategory": "Study",
              "country": "US", "custom_4": "CoreUser", "uuid": "u2", "device_new": True}),
    # an exact duplicate of the first line
    _event("s1@Website", **{"Page Name": "Home", "Last Accessed Url": "/home", "country": "br",
                            "custom_4": "Core User", "uuid": "u1", "nth": 1,
                            "Page Category": "Home"}),
    # s2: a stray profile, a value needing CSV quoting
    _event("s2@Webapp", at="2017-11-16 11:00:00.000",
           **{"Page Name": 'Busca, "avançada"', "Last Accessed Url": "/busca?q=a,b",
              "country": "us", "custom_4": "yes", "uuid": "u3", "nth": 3,
              "PageCategory": "Search"}),
    # the same view again, differing only in keys full.csv does not carry (distinct collapses it)
    _event("s2@Webapp", at="2017-11-16 11:00:00.000",
           **{"Page Name": 'Busca, "avançada"', "Last Accessed Url": "/busca?q=a,b",
              "country": "us", "custom_4": "yes", "uuid": "u3b", "nth": 4,
              "PageCategory": "Search"}),
    # s2: null country, null profile, ISO 'T' time late at night
    _event("s2@iOS", at="2017-11-16T23:59:59", browser=None,
           **{"PageName": "Perfil", "country": None, "custom_4": None}),
    # s3 is not in the warehouse: counted in country/users/hours, absent from full
    _event("s3@Website", **{"Page Name": "Home", "country": "ar", "custom_4": "Casual User",
                            "Page Category": "Home"}),
    # anonymous visitors: no key, an empty key, a blank key
    _event(None, **{"Page Name": "Home", "country": "us", "custom_4": "Cold User"}),
    _event("", **{"Page Name": "Home", "country": "fr", "custom_4": "Cold User"}),
    _event("  ", **{"Page Name": "Home", "country": "fr", "custom_4": "New User"}),
    # a malformed line
    MALFORMED_LINE,
    # s4: both spellings (the spaced one wins), padded country, unspaced profile
    _event("s4@Website", at="2017-11-16 12:00:00.000",
           **{"Page Name": "Simulado", "PageName": "IGNORED", "Last Accessed Url": "/simulado",
              "LastAccessedUrl": "/ignored", "country": " PT ", "custom_4": "NewUser",
              "Page Category": "Study", "PageCategory": "IGNORED"}),
    # s4: accents; country key absent; a date with no time of day
    _event("s4@Android", at="2017-11-16",
           **{"PageName": "Matérias de Ciências", "custom_4": "New User",
              "PageCategory": "Study"}),
    # s5: a warehouse student with a null city; an empty country
    _event("s5@iOS", at="2017-11-16 13:00:00.000",
           **{"Page Name": "Home", "country": "", "custom_4": "Cold User"}),
    # s6: no client part; no `at` at all
    _event("s6", **{"Page Name": "Home", "country": "ar", "custom_4": "unknown", "at": None}),
    # s1 again, unknown profile, no country, Firefox, in the afternoon
    _event("s1@Website", at="2017-11-16 15:00:00.000", browser="Firefox",
           **{"Page Name": "Home", "Last Accessed Url": "/home", "custom_4": "unknown"}),
    # rejected: a client that is none of the four; a time in another format
    _event("s2@Fax", **{"Page Name": "Home", "country": "us", "custom_4": "Core User"}),
    _event("s7@Website", at="16/11/2017", **{"Page Name": "Home", "country": "cl"}),
    # malformed: lines that are JSON but not one object
    '[{"studentId_clientType": "s1@Website", "at": "2017-11-16 10:00:00", "country": "uy"}]',
    '"just a string"',
    # s5: a NUL byte in a value (JSON-escaped) loads as data; s4: a very long page name loads
    _event("s5@Website", at="2017-11-16 13:30:00.000",
           **{"Page Name": "nul\u0000byte", "country": "us", "custom_4": "Cold User"}),
    _event("s4@iOS", at="2017-11-16 12:30:00.000", **{"Page Name": "p" * 70_000}),
    # s7: a key padded with spaces, no uuid at all (nothing needs one)
    _event(" s7@Webapp ", at="2017-11-16 11:30:00.000", **{"Page Name": "Home", "country": "CL"}),
]  # fmt: skip
MALFORMED_LINES = [MALFORMED_LINE, EVENT_LINES[-5], EVENT_LINES[-4]]

STUDENTS = [
    {"student_id": "s1", "state": "São Paulo", "city": "Campinas", "university": "Unicamp",
     "course": "Direito"},
    {"student_id": "s2", "state": "Rio de Janeiro", "city": "Niterói", "university": "UFF",
     "course": "Ciências Contábeis"},
    {"student_id": "s4", "state": "Minas Gerais", "city": "Belo Horizonte", "university": "UFMG",
     "course": "Direito"},
    {"student_id": "s5", "state": "Bahia", "city": None, "university": "UFBA",
     "course": "Enfermagem"},
    {"student_id": "s6", "state": "São Paulo", "city": "Santos", "university": "Unicamp",
     "course": "Pedagogia"},
    {"student_id": "s7", "state": "Acre", "city": "Rio Branco", "university": "UFAC",
     "course": "Direito"},
]  # fmt: skip

FULL_HEADER = ["student_id", "client", "at", "browser", "country", "custom_4", "page_name",
               "last_accessed_url", "state", "city", "university", "course"]  # fmt: skip
# full.csv's order: student_id, at, page_name, last_accessed_url, then the rest (nulls first)
FULL_SORT = [0, 2, 6, 7, 1, 3, 4, 5, 8, 9, 10, 11]


def parse(lines: list[str]) -> tuple[list[dict], int, int]:
    """(valid records, malformed lines, rejected lines) of the non-blank lines."""
    records, malformed, rejected = [], 0, 0
    for line in lines:
        if not line.strip(" \t"):
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = None
        if not isinstance(record, dict):
            malformed += 1
        elif failed_rules(record):
            rejected += 1
        else:
            records.append(record)
    return records, malformed, rejected


def either(record: dict, spaced: str, unspaced: str) -> str | None:
    value = record.get(spaced)
    return value if value is not None else record.get(unspaced)


def profile(value: str | None) -> str | None:
    return PROFILES.get(value, value) if value is not None else None


def identified(records: list[dict]) -> list[dict]:
    """Records with a student, plus _student and _client (None when there is no '@')."""
    found = []
    for record in records:
        key = record.get("studentId_clientType")
        if key is None or not key.strip():
            continue
        student, at_sign, client = key.strip().partition("@")
        found.append({**record, "_student": student, "_client": client if at_sign else None})
    return found


def view_time(record: dict) -> datetime | None:
    at = record.get("at")
    try:
        return datetime.strptime(at.strip()[:19].replace("T", " "), "%Y-%m-%d %H:%M:%S")
    except (AttributeError, ValueError):
        return None


def cell(value: object) -> str:
    return "" if value is None else str(value)


def _ranked(counts: dict, header: list[str]) -> list[list[str]]:
    """Count desc, key asc, a None key last."""
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0] is None, kv[0] or ""))
    return [header] + [[cell(k), str(n)] for k, n in ordered]


def expected_country(events: list[dict]) -> list[list[str]]:
    counts: Counter[str] = Counter()
    for record in events:
        country = (record.get("country") or "").strip().lower()
        if country and country != "br":
            counts[country] += 1
    return _ranked(counts, ["country", "count"])


def expected_users(events: list[dict]) -> list[list[str]]:
    counts = Counter(p for r in events if (p := profile(r.get("custom_4"))) is not None)
    return _ranked(counts, ["custom_4", "count"])


def expected_full(events: list[dict], students: list[dict]) -> list[list[str]]:
    by_id = {s["student_id"]: s for s in students}
    rows = set()
    for r in events:
        if (s := by_id.get(r["_student"])) is None:
            continue
        rows.add((
            r["_student"], r["_client"], r.get("at"), r.get("browser"), r.get("country"),
            profile(r.get("custom_4")), either(r, "Page Name", "PageName"),
            either(r, "Last Accessed Url", "LastAccessedUrl"),
            s["state"], s["city"], s["university"], s["course"],
        ))  # fmt: skip
    ordered = sorted(rows, key=lambda row: [(row[i] is not None, row[i] or "") for i in FULL_SORT])
    return [FULL_HEADER] + [[cell(v) for v in row] for row in ordered]


def _views(events: list[dict], key, name: str, by_key: bool = False) -> list[list[str]]:
    """(key, page views): most first, ties by key, an empty key last; or in key order."""
    views: Counter = Counter(key(r) for r in events)
    if by_key:
        keys = sorted(views, key=lambda k: (k is None, k if k is not None else 0))
    else:
        keys = sorted(views, key=lambda k: (-views[k], k is None, k or ""))
    return [[name, "page_views"]] + [[cell(k), str(views[k])] for k in keys]


def _views_students(events: list[dict], key, name: str) -> list[list[str]]:
    """(key, page views, distinct students), most viewed first."""
    views: Counter = Counter()
    students: dict = defaultdict(set)
    for r in events:
        views[k := key(r)] += 1
        students[k].add(r["_student"])
    keys = sorted(views, key=lambda k: (-views[k], k is None, k or ""))
    return [[name, "page_views", "students"]] + [
        [cell(k), str(views[k]), str(len(students[k]))] for k in keys
    ]


def expected_new(events: list[dict], students: list[dict]) -> dict[str, list[list[str]]]:
    """states, hours, clients, categories, universities, courses and active_students."""
    by_id = {s["student_id"]: s for s in students}
    known = [r for r in events if r["_student"] in by_id]
    state_students: dict = defaultdict(set)
    for r in known:
        state_students[by_id[r["_student"]]["state"]].add(r["_student"])
    states = _ranked({k: len(v) for k, v in state_students.items()}, ["state", "students"])
    return {
        "states": states,
        "hours": _views(events, lambda r: (t := view_time(r)) and t.hour, "hour", by_key=True),
        "clients": _views(events, lambda r: r["_client"], "client"),
        "categories": _views(
            events, lambda r: either(r, "Page Category", "PageCategory"), "page_category"
        ),
        "universities": _views_students(
            known, lambda r: by_id[r["_student"]]["university"], "university"
        ),
        "courses": _views_students(known, lambda r: by_id[r["_student"]]["course"], "course"),
        "active_students": expected_active(events, by_id),
    }


def expected_active(events: list[dict], by_id: dict[str, dict]) -> list[list[str]]:
    per: dict[str, list[dict]] = defaultdict(list)
    for r in events:
        per[r["_student"]].append(r)
    rows = [["student_id", "page_views", "first_at", "last_at", "clients", "in_warehouse",
             "state", "university", "course"]]  # fmt: skip
    for sid in sorted(per):
        times = [t for r in per[sid] if (t := view_time(r)) is not None]
        clients = sorted({r["_client"] for r in per[sid] if r["_client"] is not None})
        student = by_id.get(sid, {})
        rows.append([
            sid, str(len(per[sid])),
            min(times).strftime("%Y-%m-%d %H:%M:%S") if times else "",
            max(times).strftime("%Y-%m-%d %H:%M:%S") if times else "",
            "|".join(clients), "true" if sid in by_id else "false",
            cell(student.get("state")), cell(student.get("university")),
            cell(student.get("course")),
        ])  # fmt: skip
    return rows


def expected_day(lines: list[str], students: list[dict]) -> dict[str, Any]:
    """Every output's rows (header first) and the event counts, from the lines alone."""
    records, malformed, rejected = parse(lines)
    events = identified(records)
    return {
        "country": expected_country(events),
        "users": expected_users(events),
        "full": expected_full(events, students),
        **expected_new(events, students),
        "_events": {
            "read": len(records) + malformed + rejected,
            "valid": len(records),
            "rejected": rejected,
            "malformed": malformed,
            "identified": len(events),
            "anonymous": len(records) - len(events),
            "null_country": sum(1 for r in events if not (r.get("country") or "").strip()),
        },
    }


def local(location: str | Path) -> Path:
    """A file the job wrote, named by URL (file:///...) or path, as a local path."""
    text = str(location)
    return Path(unquote(urlsplit(text).path)) if text.startswith("file://") else Path(text)
