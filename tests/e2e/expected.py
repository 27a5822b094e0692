"""The three original outputs computed again in plain Python from the generated files.

Deliberately independent of tasks/: its own JSON reading, key spellings and joins, written
from the rules in the README, so that a bug in the pipeline cannot hide in the expectation.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

SPACED = {"PageName": "Page Name", "LastAccessedUrl": "Last Accessed Url"}
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


def events(raw_dir: Path) -> list[dict]:
    out = []
    for part in sorted(raw_dir.glob("part-*.json")):
        for line in part.read_text(encoding="utf-8-sig").splitlines():
            if line.strip():
                record = json.loads(line)
                for short, spaced in SPACED.items():
                    if record.get(spaced) is None and short in record:
                        record[spaced] = record[short]
                out.append(record)
    return out


def expected_outputs(lake_root: Path, day: str) -> dict[str, Counter]:
    """Multisets of CSV rows (as tuples of strings) for country.csv, users.csv, full.csv."""
    students = students_flat(lake_root / "transactional" / day)
    identified = [e for e in events(lake_root / "raw" / day) if e.get("studentId_clientType")]
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
