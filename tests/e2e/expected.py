"""Every analytics output computed again in plain Python from the generated files.

Deliberately independent of tasks/: its own JSON reading, key spellings and joins, written
from the rules in the README, so that a bug in the pipeline cannot hide in the expectation.
Outputs count only the events the suite's critical rules accept (tests/event_rules.py).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from tests.event_rules import failed_rules

SPACED = {
    "PageName": "Page Name",
    "LastAccessedUrl": "Last Accessed Url",
    "PageCategory": "Page Category",
}
PROFILES = {
    "CoreUser": "Core User",
    "CasualUser": "Casual User",
    "ColdUser": "Cold User",
    "NewUser": "New User",
}


def _array(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8-sig"))


def _int(value: object) -> int | None:
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


def _text(value: object) -> str:
    return "" if value is None else str(value)


def students_flat(day_dir: Path) -> dict[str, tuple[str, str, str, str]]:
    """student id -> (state, city, university, course), the last record of an id winning."""
    universities = {_int(r.get("Id")): r.get("Name") for r in _array(day_dir / "universities.json")}
    courses = {_int(r.get("Id")): r.get("Name") for r in _array(day_dir / "courses.json")}
    flat: dict[str, tuple[str, str, str, str]] = {}
    for record in _array(day_dir / "students.json"):
        sid = str(record.get("Id") or "").strip()
        if not sid:
            continue
        flat[sid] = (
            (record.get("State") or "").strip() or "unknown",
            (record.get("City") or "").strip() or "unknown",
            universities.get(_int(record.get("UniversityId"))) or "unknown",
            courses.get(_int(record.get("CourseId"))) or "unknown",
        )
    return flat


def lines(raw_dir: Path) -> tuple[list[dict], int, int]:
    """(valid events, rejected lines, malformed lines) of the day's part files."""
    valid, rejected, malformed = [], 0, 0
    for part in sorted(raw_dir.glob("part-*.json")):
        for line in part.read_text(encoding="utf-8-sig").splitlines():
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                record = None
            if not isinstance(record, dict):
                malformed += 1
                continue
            if failed_rules(record):
                rejected += 1
                continue
            for short, spaced in SPACED.items():
                if record.get(spaced) is None and short in record:
                    record[spaced] = record[short]
            valid.append(record)
    return valid, rejected, malformed


def events(raw_dir: Path) -> list[dict]:
    """The valid events: only they count in the outputs."""
    return lines(raw_dir)[0]


def _identified(valid: list[dict]) -> list[dict]:
    return [e for e in valid if (e.get("studentId_clientType") or "").strip()]


def expected_outputs(lake_root: Path, day: str) -> dict[str, Counter]:
    """Multisets of CSV rows (as tuples of strings) for every output, by file name."""
    students = students_flat(lake_root / "transactional" / day)
    identified = _identified(events(lake_root / "raw" / day))
    return {**original_outputs(identified, students), **new_outputs(identified, students)}


def event_counts(lake_root: Path, day: str) -> dict[str, int]:
    """The manifest's counts: read = valid + rejected + malformed."""
    valid, rejected, malformed = lines(lake_root / "raw" / day)
    identified = _identified(valid)
    return {
        "read": len(valid) + rejected + malformed,
        "valid": len(valid),
        "rejected": rejected,
        "malformed": malformed,
        "identified": len(identified),
        "anonymous": len(valid) - len(identified),
        "null_country": sum(1 for e in identified if not (e.get("country") or "").strip()),
    }


def original_outputs(identified: list[dict], students: dict[str, tuple]) -> dict[str, Counter]:
    """country.csv, users.csv and full.csv, as the case study defined them."""
    countries = Counter(
        c for e in identified if (c := (e.get("country") or "").strip().lower()) and c != "br"
    )
    profiles = Counter(
        PROFILES.get(e["custom_4"], e["custom_4"])
        for e in identified
        if e.get("custom_4") is not None
    )
    full = set()
    for e in identified:
        sid, _, client = e["studentId_clientType"].partition("@")
        if sid not in students:
            continue
        profile = e.get("custom_4")
        full.add(
            (
                sid,
                client,
                _text(e.get("at")),
                _text(e.get("browser")),
                _text(e.get("country")),
                _text(PROFILES.get(profile, profile)),
                _text(e.get("Page Name")),
                _text(e.get("Last Accessed Url")),
                *students[sid],
            )
        )
    return {
        "country.csv": Counter({(k, str(v)): 1 for k, v in countries.items()}),
        "users.csv": Counter({(k, str(v)): 1 for k, v in profiles.items()}),
        "full.csv": Counter(full),
    }


def _time(event: dict) -> datetime | None:
    try:
        return datetime.strptime(event["at"].strip()[:19].replace("T", " "), "%Y-%m-%d %H:%M:%S")
    except (KeyError, AttributeError, ValueError):
        return None


def _views(events: list[dict], key: Callable[[dict], object], students: bool = False) -> Counter:
    """Rows (key, page views[, distinct students]) of a per-key output."""
    views: Counter = Counter()
    who: dict = defaultdict(set)
    for e in events:
        views[k := key(e)] += 1
        who[k].add(e["_sid"])
    return Counter(
        {(_text(k), str(n), *([str(len(who[k]))] if students else [])): 1 for k, n in views.items()}
    )


def new_outputs(identified: list[dict], students: dict[str, tuple]) -> dict[str, Counter]:
    """states.csv ... active_students.csv: identified events, per key or per student."""
    for e in identified:
        sid, at_sign, client = e["studentId_clientType"].partition("@")
        e["_sid"], e["_client"] = sid, client if at_sign else None
    known = [e for e in identified if e["_sid"] in students]
    per_state: dict = defaultdict(set)
    for e in known:
        per_state[students[e["_sid"]][0]].add(e["_sid"])
    return {
        "states.csv": Counter({(s, str(len(ids))): 1 for s, ids in per_state.items()}),
        "hours.csv": _views(identified, lambda e: (t := _time(e)) and t.hour),
        "clients.csv": _views(identified, lambda e: e["_client"]),
        "categories.csv": _views(identified, lambda e: e.get("Page Category")),
        "universities.csv": _views(known, lambda e: students[e["_sid"]][2], students=True),
        "courses.csv": _views(known, lambda e: students[e["_sid"]][3], students=True),
        "active_students.csv": _active(identified, students),
    }


def _active(identified: list[dict], students: dict[str, tuple]) -> Counter:
    per: dict[str, list[dict]] = defaultdict(list)
    for e in identified:
        per[e["_sid"]].append(e)
    rows = Counter()
    for sid, views in per.items():
        times = [t.strftime("%Y-%m-%d %H:%M:%S") for e in views if (t := _time(e))]
        clients = sorted({e["_client"] for e in views if e["_client"]})
        state, _, university, course = students.get(sid, ("", "", "", ""))
        rows[
            (
                sid,
                str(len(views)),
                min(times, default=""),
                max(times, default=""),
                "|".join(clients),
                str(sid in students).lower(),
                state,
                university,
                course,
            )
        ] += 1
    return rows
