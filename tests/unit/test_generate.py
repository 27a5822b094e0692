"""The generator writes dataset.md's shapes and quirks, reproducibly, with links that hold.

Every expected value is computed here from the files read back, never from generator internals.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from datetime import date

import pytest

from tasks.generator.day import generate
from tasks.resources.lake import Lake

pytestmark = pytest.mark.unit

RUN_DATE = date(2017, 11, 16)
SCALE = 0.01
BASE_A_KEYS = {
    "students.json": {"Id", "RegisteredDate", "State", "City", "UniversityId", "CourseId",
                      "SignupSource"},
    "sessions.json": {"StudentId", "SessionStartTime", "StudentClient"},
    "subscriptions.json": {"StudentId", "PaymentDate", "PlanType"},
    "universities.json": {"Id", "Name"},
    "courses.json": {"Id", "Name"},
    "subjects.json": {"Id", "Name"},
    "student_follow_subject.json": {"StudentId", "SubjectId", "FollowDate"},
}  # fmt: skip
SPELLINGS = {
    "Page Name": "PageName", "Page Category": "PageCategory", "Page Category 1": "PageCategory1",
    "Page Category 2": "PageCategory2", "Page Category 3": "PageCategory3",
    "Last Accessed Url": "LastAccessedUrl",
}  # fmt: skip
EVENT_KEYS = set(SPELLINGS) | set(SPELLINGS.values()) | {
    "at", "browser", "carrier", "city_name", "clv_total", "country", "custom_1", "custom_2",
    "custom_3", "custom_4", "device_new", "first-accessed-page", "install_uuid", "language",
    "library_ver", "marketing_campaign", "marketing_medium", "marketing_source", "model", "name",
    "nth", "os_ver", "platform", "region", "session_uuid", "studentId_clientType", "type",
    "user_type", "uuid",
}  # fmt: skip
STATES = {
    "Acre", "Alagoas", "Amapá", "Amazonas", "Bahia", "Ceará", "Distrito Federal",
    "Espírito Santo", "Goiás", "Maranhão", "Mato Grosso", "Mato Grosso do Sul", "Minas Gerais",
    "Pará", "Paraíba", "Paraná", "Pernambuco", "Piauí", "Rio de Janeiro", "Rio Grande do Norte",
    "Rio Grande do Sul", "Rondônia", "Roraima", "Santa Catarina", "São Paulo", "Sergipe",
    "Tocantins",
}  # fmt: skip
CLIENTS = {"Website", "Webapp", "Android", "iOS"}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d( \d\d:\d\d:\d\d\.(000|0000))?$")


def _generate(seed: int, run_date: date = RUN_DATE) -> tuple[Lake, dict[str, int]]:
    lake = Lake(f"memory://pdbi-generate-{uuid.uuid4().hex}")
    return lake, generate(lake, SCALE, seed, run_date)


def _files(lake: Lake) -> dict[str, bytes]:
    """Every file written, by 'zone/name', as raw bytes."""
    return {f"{zone}/{name}": lake.read_bytes(zone, name)
            for zone in ("transactional", "raw") for name in lake.list(zone, "*/*")}  # fmt: skip


@pytest.fixture(scope="module")
def day() -> dict:
    """One generated day read back: raw bytes, BASE A records, events."""
    lake, counts = _generate(seed=7)
    files = _files(lake)
    folder = RUN_DATE.isoformat()
    tables = {name: json.loads(files[f"transactional/{folder}/{name}"].decode("utf-8-sig"))
              for name in BASE_A_KEYS}  # fmt: skip
    parts = sorted(k for k in files if k.startswith(f"raw/{folder}/part-"))
    events = [json.loads(line) for p in parts for line in files[p].decode("utf-8").splitlines()]
    yield {"lake": lake, "counts": counts, "files": files, "tables": tables, "events": events}
    lake.fs.rm(lake.root, recursive=True)


def _ids(records: list[dict], key: str = "Id") -> set[int]:
    return {int(r[key]) for r in records if key in r}


def _student(event: dict) -> str | None:
    value = event.get("studentId_clientType")
    return value.split("@")[0] if value else None


def test_layout_and_counts_follow_the_scale(day: dict) -> None:
    folder = RUN_DATE.isoformat()
    expected = {"students.json": 2000, "sessions.json": 10000, "subscriptions.json": 500,
                "student_follow_subject.json": 10000, "universities.json": 20,
                "courses.json": 5, "subjects.json": 300, "part-00000.json": 10000}  # fmt: skip
    assert day["counts"] == expected
    assert sorted(day["files"]) == sorted(
        [f"transactional/{folder}/{name}" for name in BASE_A_KEYS]
        + [f"raw/{folder}/part-00000.json"]
    )
    assert {name: len(rows) for name, rows in day["tables"].items()} == {
        name: count for name, count in expected.items() if name in BASE_A_KEYS
    }
    assert len(day["events"]) == 10000


def test_same_inputs_give_identical_bytes_and_another_seed_differs(day: dict) -> None:
    again, _ = _generate(seed=7)
    other, _ = _generate(seed=8)
    try:
        assert _files(again) == day["files"]
        different = _files(other)
        assert different.keys() == day["files"].keys()
        # the reference lists (universities, courses) are fixed; everything drawn must change
        drawn = [k for k in day["files"] if not k.endswith(("universities.json", "courses.json"))]
        assert all(different[name] != day["files"][name] for name in drawn)
    finally:
        again.fs.rm(again.root, recursive=True)
        other.fs.rm(other.root, recursive=True)


def test_every_record_carries_only_documented_keys(day: dict) -> None:
    for name, rows in day["tables"].items():
        assert all(isinstance(r, dict) and set(r) <= BASE_A_KEYS[name] for r in rows), name
    assert all(set(e) <= EVENT_KEYS for e in day["events"])
    assert all(e["name"] == "PageView" and e["at"].startswith("2017-11-16 ") for e in day["events"])


def test_references_point_at_existing_records(day: dict) -> None:
    t = day["tables"]
    students = {r["Id"] for r in t["students.json"] if "Id" in r}
    for name in ("sessions.json", "subscriptions.json", "student_follow_subject.json"):
        assert {r["StudentId"] for r in t[name] if "StudentId" in r} <= students, name
    identified = [e["studentId_clientType"] for e in day["events"] if "studentId_clientType" in e]
    assert {v.split("@")[0] for v in identified} <= students
    assert {v.split("@")[1] for v in identified} == CLIENTS
    assert _ids(t["students.json"], "UniversityId") <= _ids(t["universities.json"])
    assert _ids(t["students.json"], "CourseId") <= _ids(t["courses.json"])
    assert _ids(t["student_follow_subject.json"], "SubjectId") <= _ids(t["subjects.json"])
    with_sessions = {r["StudentId"] for r in t["sessions.json"] if "StudentId" in r}
    assert 0.80 < len(with_sessions) / len(students) < 0.95
    follows = [(r["StudentId"], int(r["SubjectId"])) for r in t["student_follow_subject.json"]
               if {"StudentId", "SubjectId"} <= set(r)]  # fmt: skip
    assert len(set(follows)) == len(follows)


def test_events_name_the_students_university_and_course(day: dict) -> None:
    t = day["tables"]
    names = {f: {int(r["Id"]): r["Name"] for r in t[f] if "Name" in r}
             for f in ("universities.json", "courses.json")}  # fmt: skip
    students = {r["Id"]: r for r in t["students.json"] if "Id" in r}
    checked = 0
    for event in day["events"]:
        student = students.get(_student(event))
        if not student or event.get("custom_2") in (None, "unknown"):
            continue
        if "CourseId" in student and int(student["CourseId"]) in names["courses.json"]:
            assert event["custom_2"] == names["courses.json"][int(student["CourseId"])]
            checked += 1
        university = names["universities.json"].get(int(student.get("UniversityId", 0)))
        if university and "custom_1" in event:
            assert event["custom_1"] == university
    assert checked > 1000


def test_ids_are_present_in_over_99_percent(day: dict) -> None:
    t = day["tables"]
    pairs = [("students.json", "Id"), ("sessions.json", "StudentId"),
             ("student_follow_subject.json", "StudentId"), ("courses.json", "Id")]  # fmt: skip
    for name, key in pairs:
        assert sum(key in r for r in t[name]) / len(t[name]) > 0.99, name


def test_some_exports_start_with_a_byte_order_mark(day: dict) -> None:
    marked = [k for k, data in day["files"].items() if data.startswith(b"\xef\xbb\xbf")]
    assert 1 <= len(marked) <= 3
    assert all(k.startswith("transactional/") for k in marked)


def test_timestamps_have_three_and_four_fraction_digits_and_dates_alone(day: dict) -> None:
    stamps = [r[k] for name, rows in day["tables"].items() for r in rows for k in r
              if k.endswith(("Date", "Time"))]  # fmt: skip
    assert all(TIMESTAMP.match(s) for s in stamps)
    shapes = Counter(len(s) for s in stamps)  # 23: .000, 24: .0000, 10: date only
    assert shapes[23] > 0.85 * len(stamps)
    assert shapes[24] > 0 and shapes[10] > 0
    sessions = [r["SessionStartTime"][:10] for r in day["tables"]["sessions.json"]
                if "SessionStartTime" in r]  # fmt: skip
    assert max(sessions) <= RUN_DATE.isoformat()


def test_optional_keys_go_missing_in_a_few_percent(day: dict) -> None:
    students = day["tables"]["students.json"]
    for key in ("State", "City", "UniversityId", "CourseId", "SignupSource", "RegisteredDate"):
        share = sum(key not in r for r in students) / len(students)
        assert 0.002 < share < 0.08, key
    assert any("custom_4" not in e for e in day["events"])


def test_ids_arrive_as_numbers_and_as_strings(day: dict) -> None:
    t = day["tables"]
    for name, key in [("students.json", "UniversityId"), ("students.json", "CourseId"),
                      ("student_follow_subject.json", "SubjectId")]:  # fmt: skip
        kinds = Counter(type(r[key]) for r in t[name] if key in r)
        assert kinds[int] > kinds[str] > 0, key
        assert all(v.isdigit() for v in (r[key] for r in t[name] if key in r) if isinstance(v, str))
    assert all(isinstance(r["Id"], int) for r in t["universities.json"])


def test_names_carry_portuguese_accents_in_utf8(day: dict) -> None:
    t = day["tables"]
    states = {r["State"] for r in t["students.json"] if "State" in r}
    assert states <= STATES and len(states) > 20
    assert "São Paulo".encode() in day["files"][f"transactional/{RUN_DATE}/students.json"]
    courses = [r["Name"] for r in t["courses.json"] if "Name" in r]
    assert "Administração" in courses
    assert any("Universidade Federal" in r.get("Name", "") for r in t["universities.json"])
    cities = {r["City"] for r in t["students.json"] if "City" in r}
    assert any(set(c) & set("ãâáàçéêíóôõú") for c in cities)


def test_events_use_both_spellings_of_the_spaced_keys(day: dict) -> None:
    keys = Counter(k for e in day["events"] for k in e)
    for spaced, unspaced in SPELLINGS.items():
        assert keys[spaced] > keys[unspaced] > 0, spaced
    assert not any(
        spaced in e and unspaced in e
        for e in day["events"]
        for spaced, unspaced in SPELLINGS.items()
    )


def test_profiles_include_strays(day: dict) -> None:
    profiles = Counter(e.get("custom_4") for e in day["events"])
    documented = {"Core User", "Casual User", "Cold User", "New User", "unknown"}
    assert documented <= set(profiles)
    assert profiles["yes"] > 0 and profiles["CoreUser"] > 0 and profiles["CasualUser"] > 0
    assert set(profiles) <= documented | {"yes", "CoreUser", "CasualUser", None}


def test_course_is_null_or_unknown_for_a_share_and_direito_leads(day: dict) -> None:
    events = day["events"]
    courses = Counter(e.get("custom_2", "<missing>") for e in events)
    assert 0.09 < courses[None] / len(events) < 0.17
    assert 0.03 < courses["unknown"] / len(events) < 0.08
    named = [(c, n) for c, n in courses.most_common() if c not in (None, "unknown", "<missing>")]
    assert named[0][0] == "Direito" and named[0][1] > 1.3 * named[1][1]
    t = day["tables"]
    names = {int(r["Id"]): r["Name"] for r in t["courses.json"] if "Name" in r}
    by_course = Counter(
        names.get(int(r["CourseId"])) for r in t["students.json"] if "CourseId" in r
    )
    assert by_course.most_common(1)[0][0] == "Direito"


def test_visitors_are_anonymous_or_foreign_at_realistic_rates(day: dict) -> None:
    events = day["events"]
    anonymous = sum("studentId_clientType" not in e for e in events) / len(events)
    assert 0.15 < anonymous < 0.25
    countries = Counter(e.get("country") for e in events)
    foreign = {c: n for c, n in countries.items() if c not in ("br", None)}
    assert 0.01 < sum(foreign.values()) / len(events) < 0.03
    assert all(len(c) == 2 for c in foreign) and "US" in foreign
    assert sum(n for c, n in foreign.items() if c.islower()) > 0.8 * sum(foreign.values())
    first = sum("first-accessed-page" in e for e in events) / len(events)
    assert 0.05 < first < 0.95


def test_run_date_moves_the_day_but_keeps_the_population(day: dict) -> None:
    lake, _ = _generate(seed=7, run_date=date(2017, 11, 17))
    try:
        students = json.loads(lake.read_bytes("transactional", "2017-11-17/students.json")
                              .decode("utf-8-sig"))  # fmt: skip
        before = {r["Id"] for r in day["tables"]["students.json"] if "Id" in r}
        assert {r["Id"] for r in students if "Id" in r} == before
        line = lake.read_bytes("raw", "2017-11-17/part-00000.json").split(b"\n", 1)[0]
        assert json.loads(line)["at"].startswith("2017-11-17 ")
    finally:
        lake.fs.rm(lake.root, recursive=True)
