"""A deterministic generator of one day of source data, in the shapes and quirks of dataset.md.

The real data are not public, so every test and benchmark runs on this. Records are drawn as
numpy index arrays and rendered by table lookup: each key's JSON fragment (`,"State":"Bahia"`) is
made once per distinct value, and a record is the concatenation of its fragments, so a full-size
day renders in seconds without a json.dumps per record. A fragment of "" is a missing key.

Stable across run dates (same seed): the population of students, universities, courses, subjects
and follows. Drawn per run date: a small drift of students' city and course (to exercise slowly
changing dimensions), the activity, sessions, subscriptions and events of the day.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from json.encoder import encode_basestring

import numpy as np

from tasks import generate_names as names
from tasks.resources.lake import Lake

BASE_COUNTS = {"students": 200_000, "sessions": 1_000_000, "subscriptions": 50_000,
               "follows": 1_000_000, "universities": 2_000, "courses": 500, "subjects": 30_000,
               "events": 1_000_000}  # fmt: skip
EVENTS_PER_PART = 100_000
CHUNK = 100_000  # records rendered at once: bounds memory whatever the scale
JOIN_STEP = 2_000  # records joined at once inside a chunk
BOM_FILES = {"students.json", "courses.json"}  # exports that start with a byte-order mark
REGISTRATION_CUTOFF = date(2017, 11, 1)  # registrations end here, so students stay stable
UTF8_BOM = b"\xef\xbb\xbf"
DAY = 86_400
DIURNAL = [2, 1, 1, 1, 1, 2, 4, 7, 10, 12, 13, 12, 10, 11, 13, 14, 14, 13, 12, 13, 14, 12, 8, 4]
Gen, Arr = np.random.Generator, np.ndarray
Column = tuple[Arr, Arr] | list[bytes]  # (fragment table, index) or rendered fragments


@dataclass(frozen=True)
class World:
    """The reference data: names and popularity of places, universities, courses, subjects."""

    universities: list[str]
    university_p: np.ndarray
    courses: list[str]
    course_p: np.ndarray
    subjects: list[str]
    subject_p: np.ndarray
    subject_pages: np.ndarray  # `Page Category 2` fragments naming a subject, both spellings
    cities: list[str]
    city_state: np.ndarray
    city_p: np.ndarray


@dataclass(frozen=True)
class Students:
    """The student population; `active` (students with an Id who visit) and `activity` (how
    often) tie sessions, subscriptions and events to existing students."""

    ids: list[str]
    id_fragments: np.ndarray  # `,"StudentId":"<id>"` per student
    sid_fragments: np.ndarray  # `,"studentId_clientType":"<id>@` per student
    installs: np.ndarray  # install_uuid fragments: one per student, then anonymous devices
    has_id: np.ndarray
    city: np.ndarray
    university: np.ndarray
    course: np.ndarray
    profile: np.ndarray
    active: np.ndarray
    activity: np.ndarray


def generate(lake: Lake, scale: float, seed: int, run_date: date) -> dict[str, int]:
    """Writes BASE A and BASE B for one day; returns {file name: record count}."""
    lake.ensure_zones()
    n = {key: max(1, round(base * scale)) for key, base in BASE_COUNTS.items()}
    world = _world(n)
    students = _students(_rng(seed, 1), _rng(seed, 2, run_date), world, n["students"])
    counts = {}
    for name, cols in _base_a(world, students, n, seed, run_date):
        counts[name] = _write_array(lake, f"{run_date.isoformat()}/{name}", cols)
    counts.update(_write_events(lake, world, students, n["events"], seed, run_date))
    return counts


def _base_a(
    w: World, st: Students, n: dict[str, int], seed: int, run_date: date
) -> Iterator[tuple[str, list[Column]]]:
    """The seven transactional files' columns, one file at a time to bound memory."""
    yield "universities.json", _dimension(_rng(seed, 3), w.universities)
    yield "courses.json", _dimension(_rng(seed, 4), w.courses)
    yield "subjects.json", _dimension(_rng(seed, 5), w.subjects)
    yield "students.json", _student_columns(_rng(seed, 6), w, st, run_date)
    yield "sessions.json", _sessions(_rng(seed, 7, run_date), st, n["sessions"], run_date)
    k = n["subscriptions"]
    yield "subscriptions.json", _subscriptions(_rng(seed, 8, run_date), st, k, run_date)
    follows = _follows(_rng(seed, 9), w, st, n["follows"], run_date)
    yield "student_follow_subject.json", follows


def _write_events(
    lake: Lake, w: World, st: Students, n: int, seed: int, run_date: date
) -> dict[str, int]:
    """Part files of ~EVENTS_PER_PART events in time order, drawn and written one at a time;
    every fourth part is an export that spells the spaced keys without spaces."""
    secs = np.sort(_seconds(_rng(seed, 10, run_date), n))
    parts = max(1, round(n / EVENTS_PER_PART))
    bounds = [n * i // parts for i in range(parts + 1)]
    at = _table("at", [f"{run_date.isoformat()} {t}.000" for t in _clock()])
    counts = {}
    for part, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        cols = _events(_rng(seed, 100 + part, run_date), w, st, b - a, part % 4 == 3)
        name = f"part-{part:05d}.json"
        with lake.write_atomic("raw", f"{run_date.isoformat()}/{name}") as out:
            out.write(_render([(at, secs[a:b]), *cols], 0, b - a, b"{", b"}\n"))
        counts[name] = b - a
    return counts


def _rng(seed: int, stream: int, day: date | None = None) -> np.random.Generator:
    """One independent stream per purpose, so changing one file's draws leaves the others."""
    return np.random.default_rng([seed, stream] + ([day.toordinal()] if day else []))


def _world(n: dict[str, int]) -> World:
    """Names and Zipf-like popularity; course weights follow the case study's counts."""
    top = [count for _, count in names.TOP_COURSES]
    course_w = [
        top[i] if i < len(top) else top[-1] * (len(top) / i) ** 1.3 for i in range(n["courses"])
    ]
    cities, city_state, city_w = [], [], []
    for state, (_, uf, population) in enumerate(names.STATES):
        local = names.CITIES[uf]
        zipf = 1 / np.arange(1, len(local) + 1) ** 1.2
        cities += local
        city_state += [state] * len(local)
        city_w += list(population * zipf / zipf.sum())
    subjects = names.subject_names()
    subjects = [subjects[i % len(subjects)] for i in range(n["subjects"])]
    return World(
        universities=names.university_names(n["universities"]),
        university_p=_p(1 / np.arange(1, n["universities"] + 1) ** 0.9),
        courses=names.course_names(n["courses"]),
        course_p=_p(course_w),
        subjects=subjects,
        subject_p=_p(1 / np.arange(1, n["subjects"] + 1) ** 0.8),
        subject_pages=_spelled_table(("Page Category 2", "PageCategory2"), subjects),
        cities=cities,
        city_state=np.array(city_state),
        city_p=_p(city_w),
    )


def _students(rng: Gen, day: Gen, w: World, n: int) -> Students:
    """The population from `rng` (stable per seed), its drift and activity from `day`."""
    has_id = rng.random(n) >= 0.002
    has_id[0] = True
    city = rng.choice(len(w.cities), n, p=w.city_p)
    university = rng.choice(len(w.universities), n, p=w.university_p)
    course = rng.choice(len(w.courses), n, p=w.course_p)
    profile = _pick(rng, n, [weight for _, weight in names.PROFILES])
    ids = _uuids(rng, n)
    installs = _uuid_fragments(rng, n + max(1, n // 2), "install_uuid", missing=True)
    moved, switched = day.random(n) < 0.003, day.random(n) < 0.002  # the day's drift
    city[moved] = day.choice(len(w.cities), int(moved.sum()), p=w.city_p)
    course[switched] = day.choice(len(w.courses), int(switched.sum()), p=w.course_p)
    visitors = np.flatnonzero(has_id)
    active = visitors[day.random(visitors.size) < 0.87]
    active = active if active.size else visitors
    activity = _p(day.lognormal(0.0, 1.0, active.size))
    return Students(
        ids=ids,
        id_fragments=_table("StudentId", ids),
        sid_fragments=_table("studentId_clientType", [f"{i}@" for i in ids], closed=False),
        installs=installs,
        has_id=has_id,
        city=city,
        university=university,
        course=course,
        profile=profile,
        active=active,
        activity=activity,
    )


def _dimension(rng: Gen, values: list[str]) -> list[Column]:
    """Id and Name rows; the Id is never dropped (everything refers to it), a Name rarely."""
    n = len(values)
    ids = (_table("Id", list(range(1, n + 1))), np.arange(n))
    return [ids, (_table("Name", values), _drop(rng, np.arange(n), 0.01 if n >= 100 else 0))]


def _student_columns(rng: Gen, w: World, st: Students, run_date: date) -> list[Column]:
    """Registrations end at REGISTRATION_CUTOFF (or run_date), so they stay put day to day."""
    n = len(st.ids)
    anchor = min(REGISTRATION_CUTOFF, run_date)
    back = np.minimum(rng.exponential(500, n).astype(int), 2190)
    registered = _stamp(rng, "RegisteredDate", anchor - timedelta(days=2190), 2191, 2190 - back)
    states = _table("State", [s for s, _, _ in names.STATES])
    return [
        (_table("Id", st.ids), np.where(st.has_id, np.arange(n), -1)),
        *registered,
        (states, _drop(rng, w.city_state[st.city])),
        (_table("City", w.cities), _drop(rng, st.city)),
        _id_column(rng, "UniversityId", len(w.universities), st.university),
        _id_column(rng, "CourseId", len(w.courses), st.course),
        (_table("SignupSource", [s for s, _ in names.SIGNUP_SOURCES]),
         _drop(rng, _pick(rng, n, [weight for _, weight in names.SIGNUP_SOURCES]))),
    ]  # fmt: skip


def _sessions(rng: Gen, st: Students, n: int, run_date: date) -> list[Column]:
    """Every active student visits at least once (when there are enough sessions)."""
    first = st.active[: min(n, st.active.size)]
    who = np.concatenate(
        [first, st.active[rng.choice(st.active.size, n - first.size, p=st.activity)]]
    )
    day, secs = rng.integers(0, 30, n), _seconds(rng, n)
    order = np.lexsort((secs, day))
    client = _pick(rng, n, [weight for _, weight in names.CLIENTS])
    return [
        _student_id(rng, st, who[order]),
        *_stamp(
            rng, "SessionStartTime", run_date - timedelta(days=29), 30, day[order], secs[order]
        ),
        (_table("StudentClient", [c for c, _ in names.CLIENTS]), _drop(rng, client)),
    ]


def _subscriptions(rng: Gen, st: Students, k: int, run_date: date) -> list[Column]:
    who = st.active[rng.choice(st.active.size, k, replace=k > st.active.size)]
    day, secs = rng.integers(0, 30, k), _seconds(rng, k)
    order = np.lexsort((secs, day))
    return [
        _student_id(rng, st, who[order]),
        *_stamp(rng, "PaymentDate", run_date - timedelta(days=29), 30, day[order], secs[order]),
        (_table("PlanType", [p for p, _ in names.PLAN_TYPES]),
         _drop(rng, _pick(rng, k, [weight for _, weight in names.PLAN_TYPES]))),
    ]  # fmt: skip


def _follows(rng: Gen, w: World, st: Students, n: int, run_date: date) -> list[Column]:
    """Distinct (student, subject) pairs: a student follows a subject once."""
    followers = np.flatnonzero(st.has_id)
    weight = _p(rng.lognormal(0.0, 1.0, followers.size))
    n = min(n, followers.size * len(w.subjects))
    pairs = np.empty(0, dtype=np.int64)
    while pairs.size < n:
        draw = int((n - pairs.size) * 1.3) + 16
        who = followers[rng.choice(followers.size, draw, p=weight)]
        subject = rng.choice(len(w.subjects), draw, p=w.subject_p)
        pairs = np.sort(np.concatenate([pairs, who * len(w.subjects) + subject]))
        pairs = pairs[np.concatenate([[True], pairs[1:] != pairs[:-1]])]
    pairs = pairs[rng.permutation(pairs.size)[:n]]
    back = np.minimum(rng.exponential(120, n).astype(int), 729)
    anchor = min(REGISTRATION_CUTOFF, run_date)
    return [
        _student_id(rng, st, pairs // len(w.subjects)),
        _id_column(rng, "SubjectId", len(w.subjects), pairs % len(w.subjects)),
        *_stamp(rng, "FollowDate", anchor - timedelta(days=729), 730, 729 - back),
    ]


def _events(rng: Gen, w: World, st: Students, n: int, unspaced: bool) -> list[Column]:
    """One part file's events (the caller adds `at`): who, on which device, on which page."""
    ident = rng.random(n) >= 0.20
    who = st.active[rng.choice(st.active.size, n, p=st.activity)]
    client = _pick(rng, n, [weight for _, weight in names.CLIENTS])
    platform = np.array([0, 0, 1, 2])[client]  # Website and Webapp are both the web platform
    spell = (np.full(n, True) if unspaced else rng.random(n) < 0.10).astype(int)
    return [
        *_who(rng, w, st, ident, who, client),
        *_device(rng, st, ident, who, platform),
        *_page(rng, w, spell),
        *_visit(rng, ident, who),
    ]


def _who(rng: Gen, w: World, st: Students, ident: Arr, who: Arr, client: Arr) -> list[Column]:
    """The visitor: identified students carry their own university, course, city and state."""
    n = ident.size
    clients = np.array([f'{c}"'.encode() for c, _ in names.CLIENTS] + [b""], dtype=object)
    university = np.where(
        ident, st.university[who], rng.choice(len(w.universities), n, p=w.university_p)
    )
    course = np.where(ident, st.course[who], rng.choice(len(w.courses), n, p=w.course_p))
    kind = _pick(rng, n, [82, 13, 5])  # course name, null, "unknown"
    course = np.select([kind == 1, kind == 2], [len(w.courses), len(w.courses) + 1], course)
    university = np.where(kind == 1, len(w.universities), university)
    profile = np.where(ident, st.profile[who], _pick(rng, n, [x for _, x in names.PROFILES]))
    foreign = rng.random(n) < 0.02
    country = np.where(foreign, 1 + _pick(rng, n, [x for _, x in names.COUNTRIES]), 0)
    city = np.where(ident, st.city[who], rng.choice(len(w.cities), n, p=w.city_p))
    region = w.city_state[city] + len(names.STATES) * (rng.random(n) < 0.3)  # name or UF
    states = [s for s, _, _ in names.STATES] + [uf for _, uf, _ in names.STATES]
    return [
        (st.sid_fragments, np.where(ident, who, -1)),
        (clients, np.where(ident, client, -1)),
        (_table("custom_1", w.universities + [None]), _drop(rng, university)),
        (_table("custom_2", w.courses + [None, "unknown"]), _drop(rng, course)),
        (_table("custom_4", [p for p, _ in names.PROFILES]), _drop(rng, profile)),
        (_table("country", ["br"] + [c for c, _ in names.COUNTRIES]), _drop(rng, country, 0.005)),
        (_table("city_name", w.cities), _drop(rng, np.where(foreign, -1, city))),
        (_table("region", states), _drop(rng, np.where(foreign, -1, region))),
        (_table("user_type", ["anonymous", "registered"]), _drop(rng, ident.astype(int))),
    ]


def _device(rng: Gen, st: Students, ident: Arr, who: Arr, platform: Arr) -> list[Column]:
    """Browsers on the web, carriers and models in the apps; apps reuse their install id."""
    n, web = platform.size, platform == 0
    os_tables = [names.OS_VERSIONS[p] for p in ("Web", "Android", "iOS")]
    os_start = np.cumsum([0] + [len(t) for t in os_tables])[platform]
    os_ver = os_start + rng.integers(0, 60, n) % np.array([len(t) for t in os_tables])[platform]
    models = names.MODELS["Android"] + names.MODELS["iOS"]
    model = (platform == 2) * len(names.MODELS["Android"]) + rng.integers(0, 6, n)
    pool = st.installs.size - 1 - len(st.ids)
    install = np.where(ident, who, len(st.ids) + rng.integers(0, pool, n))
    return [
        (_table("platform", ["Web", "Android", "iOS"]), platform),
        (_table("type", ["page", "screen"]), (~web).astype(int)),
        (_table("browser", [b for b, _ in names.BROWSERS]),
         _drop(rng, np.where(web, _pick(rng, n, [x for _, x in names.BROWSERS]), -1))),
        (_table("carrier", [c for c, _ in names.CARRIERS]),
         _drop(rng, np.where(web, -1, _pick(rng, n, [x for _, x in names.CARRIERS])))),
        (_table("model", models), _drop(rng, np.where(web, -1, model))),
        (_table("os_ver", sum(os_tables, [])), _drop(rng, os_ver)),
        (_table("library_ver", [names.LIBRARY_VERSIONS[p] for p in ("Web", "Android", "iOS")]),
         _drop(rng, platform)),
        (_table("language", [x for x, _ in names.LANGUAGES]),
         _drop(rng, _pick(rng, n, [x for _, x in names.LANGUAGES]))),
        (_table("device_new", [False, True]), _drop(rng, (rng.random(n) < 0.08).astype(int))),
        (st.installs, _drop(rng, install)),
    ]  # fmt: skip


def _page(rng: Gen, w: World, spell: Arr) -> list[Column]:
    """The page viewed, in the part's spelling of the spaced keys."""
    n, pages = spell.size, names.PAGES
    page = _pick(rng, n, [p[5] for p in pages])
    material = np.array([p[1] == "Material" for p in pages])[page]
    with_subject = material | (np.array([p[0] == "Disciplina" for p in pages])[page])
    subject = np.where(with_subject, rng.choice(len(w.subjects), n, p=w.subject_p), -1)
    shown = _drop(rng, page)
    url = _drop(rng, page)
    numbered = np.array([p[4] for p in pages])[page]
    number = np.char.add(rng.integers(10**6, 10**8, n).astype("S8"), b'"')  # closes the url
    number = np.where(url < 0, b"", np.where(numbered, number, b'"'))
    landing = np.where(rng.random(n) < 0.3, rng.integers(0, len(names.LANDING_PAGES), n), -1)
    return [
        _spelled(("Page Name", "PageName"), [p[0] for p in pages], _drop(rng, page), spell),
        _spelled(("Page Category", "PageCategory"), [p[1] for p in pages], _drop(rng, page), spell),
        _spelled(("Page Category 1", "PageCategory1"), [p[2] for p in pages], shown, spell),
        _respell(w.subject_pages, subject, spell),
        _spelled(("Page Category 3", "PageCategory3"), names.MATERIAL_ACCESS,
                 np.where(material, (rng.random(n) < 0.15).astype(int), -1), spell),
        _spelled(("Last Accessed Url", "LastAccessedUrl"),
                 [f"https://www.passeidireto.com{p[3]}" for p in pages], url, spell, closed=False),
        number.tolist(),
        (_table("first-accessed-page", names.LANDING_PAGES), landing),
    ]  # fmt: skip


def _visit(rng: Gen, ident: Arr, who: Arr) -> list[Column]:
    """Counters, campaign and ids of the view itself."""
    n = ident.size
    semester = np.where(ident, who % 10, 10)
    campaign = _pick(rng, n, [80, 8, 6, 4, 2]) - 1
    clv = np.where(rng.random(n) < 0.15, np.minimum(rng.lognormal(4, 1, n).astype(int), 4999), 0)
    sessions = max(1, n // 4)
    keys = ("marketing_source", "marketing_medium", "marketing_campaign")
    source, medium, name = (_table(k, [m[i] for m in names.MARKETING]) for i, k in enumerate(keys))
    marketing = source + medium + name  # one column: the three keys come and go together
    return [
        (_table("name", ["PageView"]), np.zeros(n, dtype=int)),
        (_table("nth", list(range(1000))), _drop(rng, np.minimum(rng.geometric(0.05, n), 999))),
        (_table("clv_total", list(range(5000))), _drop(rng, clv)),
        (
            _table("custom_3", [f"{i}º semestre" for i in range(1, 11)] + [None]),
            _drop(rng, semester),
        ),
        (marketing, campaign),
        (_uuid_fragments(rng, sessions, "session_uuid"), _drop(rng, rng.integers(0, sessions, n))),
        _uuid_fragments(rng, n, "uuid").tolist(),
    ]


def _student_id(rng: Gen, st: Students, who: np.ndarray) -> Column:
    """StudentId: present in 99.7% of records, always an existing student's Id."""
    return st.id_fragments, _drop(rng, who, 0.003)


def _id_column(rng: Gen, key: str, count: int, index: np.ndarray) -> Column:
    """A reference to ids 1..count, as a number mostly and as a string ("123") in 3%."""
    table = _table(key, list(range(1, count + 1)) + [str(i) for i in range(1, count + 1)])
    return table, _drop(rng, index + count * (rng.random(index.size) < 0.03))


def _stamp(
    rng: Gen, key: str, first: date, days: int, day: Arr, secs: Arr | None = None
) -> list[Column]:
    """A timestamp as two fragments (date, then time): mostly `2017-11-16 13:20:11.000`,
    3% with `.0000`, 2% date only, 2% missing."""
    n = day.size
    secs = _seconds(rng, n) if secs is None else secs
    dates = [f',"{key}":"{(first + timedelta(days=d)).isoformat()}'.encode() for d in range(days)]
    kind = _pick(rng, n, [93, 3, 2, 2])  # .000, .0000, date only, missing
    time = np.select([kind == 1, kind == 2, kind == 3], [secs + DAY, 2 * DAY, -1], secs)
    return [(np.array(dates + [b""], dtype=object), np.where(kind == 3, -1, day)), (_times(), time)]


@lru_cache(maxsize=1)
def _clock() -> list[str]:
    """ "00:00:00" ... "23:59:59", indexed by second of the day."""
    return [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)]


@lru_cache(maxsize=1)
def _times() -> Arr:
    """The end of a timestamp fragment: ` 13:20:11.000"` by second, then `.0000"` ones, then
    `"` (date only) and b"" (missing)."""
    ends = [f' {t}.000"'.encode() for t in _clock()] + [f' {t}.0000"'.encode() for t in _clock()]
    return np.array(ends + [b'"', b""], dtype=object)


def _seconds(rng: Gen, n: int) -> np.ndarray:
    """Seconds of the day, busier in the afternoon and evening than at night."""
    return _pick(rng, n, DIURNAL) * 3600 + rng.integers(0, 3600, n)


def _table(key: str, values: list, closed: bool = True) -> Arr:
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


def _spelled(
    keys: tuple[str, str], values: list, index: Arr, spell: Arr, closed: bool = True
) -> Column:
    """A key written as `Page Name` or `PageName` depending on the line's spelling."""
    return _respell(_spelled_table(keys, values, closed), index, spell)


def _spelled_table(keys: tuple[str, str], values: list, closed: bool = True) -> Arr:
    """Fragments for both spellings of a key: spaced ones, unspaced ones, then b""."""
    spaced, unspaced = (_table(k, values, closed)[:-1] for k in keys)
    return np.concatenate([spaced, unspaced, np.array([b""], dtype=object)])


def _respell(table: Arr, index: Arr, spell: Arr) -> Column:
    return table, np.where(index < 0, -1, index + spell * ((table.size - 1) // 2))


def _uuid_fragments(rng: Gen, n: int, key: str, missing: bool = False) -> Arr:
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


def _uuids(rng: Gen, n: int) -> list[str]:
    """Student Ids: uuid4-like lower-case strings, unique in practice (122 random bits)."""
    return [f[5:-1].decode() for f in _uuid_fragments(rng, n, "").tolist()]  # strip `,"":"`, `"`


def _render(cols: list[Column], start: int, stop: int, opener: bytes, closer: bytes) -> bytes:
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


def _write_array(lake: Lake, name: str, cols: list[Column]) -> int:
    """A JSON array file, written in chunks; BOM_FILES start with a byte-order mark."""
    first = cols[0]
    n = len(first) if isinstance(first, list) else first[1].size
    with lake.write_atomic("transactional", name) as out:
        out.write((UTF8_BOM if name.rsplit("/", 1)[-1] in BOM_FILES else b"") + b"[\n")
        for start in range(0, n, CHUNK):
            text = _render(cols, start, min(n, start + CHUNK), b",\n{", b"}")
            out.write(text[2:] if start == 0 else text)
        out.write(b"\n]\n")
    return n


def _pick(rng: Gen, n: int, weights: list[float]) -> np.ndarray:
    return rng.choice(len(weights), n, p=_p(weights))


def _drop(rng: Gen, index: np.ndarray, rate: float = 0.02) -> np.ndarray:
    """The same index with `rate` of the entries turned into a missing key (-1)."""
    return np.where(rng.random(index.size) < rate, -1, index)


def _p(weights: list[float] | Arr) -> Arr:
    w = np.asarray(weights, dtype=float)
    return w / w.sum()
