"""A deterministic generator of one day of source data, in the shapes and quirks of dataset.md.

The real data are not public, so every test and benchmark runs on this. Records are drawn as
numpy index arrays into tables of JSON fragments and rendered by `render`, so a full-size
day renders in seconds without a json.dumps per record. This module keeps the public API, the
BASE A files' columns and the writing of files; the population and reference data come from
`world`, the events (BASE B) from `events`, the vocabulary from
`names`.

Stable across run dates (same seed): the population of students, universities, courses, subjects
and follows. Drawn per run date: a small drift of students' city and course (to exercise slowly
changing dimensions), the activity, sessions, subscriptions and events of the day.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import numpy as np

from tasks.generator import names
from tasks.generator.events import event_columns
from tasks.generator.render import DAY, Arr, Column, Gen, clock, render, table, times
from tasks.generator.world import (
    Students,
    World,
    draw_students,
    draw_world,
    drop,
    pick,
    seconds,
    share,
    stream,
)
from tasks.resources.lake import Lake

BASE_COUNTS = {"students": 200_000, "sessions": 1_000_000, "subscriptions": 50_000,
               "follows": 1_000_000, "universities": 2_000, "courses": 500, "subjects": 30_000,
               "events": 1_000_000}  # fmt: skip
EVENTS_PER_PART = 100_000
CHUNK = 100_000  # records rendered at once: bounds memory whatever the scale
BOM_FILES = {"students.json", "courses.json"}  # exports that start with a byte-order mark
REGISTRATION_CUTOFF = date(2017, 11, 1)  # registrations end here, so students stay stable
UTF8_BOM = b"\xef\xbb\xbf"


def generate(lake: Lake, scale: float, seed: int, run_date: date) -> dict[str, int]:
    """Writes BASE A and BASE B for one day; returns {file name: record count}."""
    lake.ensure_zones()
    n = {key: max(1, round(base * scale)) for key, base in BASE_COUNTS.items()}
    world = draw_world(n)
    students = draw_students(stream(seed, 1), stream(seed, 2, run_date), world, n["students"])
    counts = {}
    for name, cols in _base_a(world, students, n, seed, run_date):
        counts[name] = _write_array(lake, f"{run_date.isoformat()}/{name}", cols)
    counts.update(_write_events(lake, world, students, n["events"], seed, run_date))
    return counts


def _base_a(
    w: World, st: Students, n: dict[str, int], seed: int, run_date: date
) -> Iterator[tuple[str, list[Column]]]:
    """The seven transactional files' columns, one file at a time to bound memory."""
    yield "universities.json", _dimension(stream(seed, 3), w.universities)
    yield "courses.json", _dimension(stream(seed, 4), w.courses)
    yield "subjects.json", _dimension(stream(seed, 5), w.subjects)
    yield "students.json", _student_columns(stream(seed, 6), w, st, run_date)
    yield "sessions.json", _sessions(stream(seed, 7, run_date), st, n["sessions"], run_date)
    k = n["subscriptions"]
    yield "subscriptions.json", _subscriptions(stream(seed, 8, run_date), st, k, run_date)
    follows = _follows(stream(seed, 9), w, st, n["follows"], run_date)
    yield "student_follow_subject.json", follows


def _write_events(
    lake: Lake, w: World, st: Students, n: int, seed: int, run_date: date
) -> dict[str, int]:
    """Part files of ~EVENTS_PER_PART events in time order, drawn and written one at a time;
    every fourth part is an export that spells the spaced keys without spaces."""
    secs = np.sort(seconds(stream(seed, 10, run_date), n))
    parts = max(1, round(n / EVENTS_PER_PART))
    bounds = [n * i // parts for i in range(parts + 1)]
    at = table("at", [f"{run_date.isoformat()} {t}.000" for t in clock()])
    counts = {}
    for part, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        cols = event_columns(stream(seed, 100 + part, run_date), w, st, b - a, part % 4 == 3)
        name = f"part-{part:05d}.json"
        with lake.write_atomic("raw", f"{run_date.isoformat()}/{name}") as out:
            out.write(render([(at, secs[a:b]), *cols], 0, b - a, b"{", b"}\n"))
        counts[name] = b - a
    return counts


def _write_array(lake: Lake, name: str, cols: list[Column]) -> int:
    """A JSON array file, written in chunks; BOM_FILES start with a byte-order mark."""
    first = cols[0]
    n = len(first) if isinstance(first, list) else first[1].size
    with lake.write_atomic("transactional", name) as out:
        out.write((UTF8_BOM if name.rsplit("/", 1)[-1] in BOM_FILES else b"") + b"[\n")
        for start in range(0, n, CHUNK):
            text = render(cols, start, min(n, start + CHUNK), b",\n{", b"}")
            out.write(text[2:] if start == 0 else text)
        out.write(b"\n]\n")
    return n


def _dimension(rng: Gen, values: list[str]) -> list[Column]:
    """Id and Name rows; the Id is never dropped (everything refers to it), a Name rarely."""
    n = len(values)
    ids = (table("Id", list(range(1, n + 1))), np.arange(n))
    return [ids, (table("Name", values), drop(rng, np.arange(n), 0.01 if n >= 100 else 0))]


def _student_columns(rng: Gen, w: World, st: Students, run_date: date) -> list[Column]:
    """Registrations end at REGISTRATION_CUTOFF (or run_date), so they stay put day to day."""
    n = len(st.ids)
    anchor = min(REGISTRATION_CUTOFF, run_date)
    back = np.minimum(rng.exponential(500, n).astype(int), 2190)
    registered = _stamp(rng, "RegisteredDate", anchor - timedelta(days=2190), 2191, 2190 - back)
    states = table("State", [s for s, _, _ in names.STATES])
    return [
        (table("Id", st.ids), np.where(st.has_id, np.arange(n), -1)),
        *registered,
        (states, drop(rng, w.city_state[st.city])),
        (table("City", w.cities), drop(rng, st.city)),
        _id_column(rng, "UniversityId", len(w.universities), st.university),
        _id_column(rng, "CourseId", len(w.courses), st.course),
        (table("SignupSource", [s for s, _ in names.SIGNUP_SOURCES]),
         drop(rng, pick(rng, n, [weight for _, weight in names.SIGNUP_SOURCES]))),
    ]  # fmt: skip


def _sessions(rng: Gen, st: Students, n: int, run_date: date) -> list[Column]:
    """Every active student visits at least once (when there are enough sessions)."""
    first = st.active[: min(n, st.active.size)]
    who = np.concatenate(
        [first, st.active[rng.choice(st.active.size, n - first.size, p=st.activity)]]
    )
    day, secs = rng.integers(0, 30, n), seconds(rng, n)
    order = np.lexsort((secs, day))
    client = pick(rng, n, [weight for _, weight in names.CLIENTS])
    return [
        _student_id(rng, st, who[order]),
        *_stamp(
            rng, "SessionStartTime", run_date - timedelta(days=29), 30, day[order], secs[order]
        ),
        (table("StudentClient", [c for c, _ in names.CLIENTS]), drop(rng, client)),
    ]


def _subscriptions(rng: Gen, st: Students, k: int, run_date: date) -> list[Column]:
    """Payments of active students; some pay twice when there are more than active students."""
    who = st.active[rng.choice(st.active.size, k, replace=k > st.active.size)]
    day, secs = rng.integers(0, 30, k), seconds(rng, k)
    order = np.lexsort((secs, day))
    return [
        _student_id(rng, st, who[order]),
        *_stamp(rng, "PaymentDate", run_date - timedelta(days=29), 30, day[order], secs[order]),
        (table("PlanType", [p for p, _ in names.PLAN_TYPES]),
         drop(rng, pick(rng, k, [weight for _, weight in names.PLAN_TYPES]))),
    ]  # fmt: skip


def _follows(rng: Gen, w: World, st: Students, n: int, run_date: date) -> list[Column]:
    """Distinct (student, subject) pairs: a student follows a subject once."""
    followers = np.flatnonzero(st.has_id)
    weight = share(rng.lognormal(0.0, 1.0, followers.size))
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


def _student_id(rng: Gen, st: Students, who: np.ndarray) -> Column:
    """StudentId: present in 99.7% of records, always an existing student's Id."""
    return st.id_fragments, drop(rng, who, 0.003)


def _id_column(rng: Gen, key: str, count: int, index: np.ndarray) -> Column:
    """A reference to ids 1..count, as a number mostly and as a string ("123") in 3%."""
    frags = table(key, list(range(1, count + 1)) + [str(i) for i in range(1, count + 1)])
    return frags, drop(rng, index + count * (rng.random(index.size) < 0.03))


def _stamp(
    rng: Gen, key: str, first: date, days: int, day: Arr, secs: Arr | None = None
) -> list[Column]:
    """A timestamp as two fragments (date, then time): mostly `2017-11-16 13:20:11.000`,
    3% with `.0000`, 2% date only, 2% missing."""
    n = day.size
    secs = seconds(rng, n) if secs is None else secs
    dates = [f',"{key}":"{(first + timedelta(days=d)).isoformat()}'.encode() for d in range(days)]
    kind = pick(rng, n, [93, 3, 2, 2])  # .000, .0000, date only, missing
    time = np.select([kind == 1, kind == 2, kind == 3], [secs + DAY, 2 * DAY, -1], secs)
    return [(np.array(dates + [b""], dtype=object), np.where(kind == 3, -1, day)), (times(), time)]
