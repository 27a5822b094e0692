"""The generator's reference data and student population, and the random draws they are made of.

Stable across run dates (same seed): the names and popularity of places, universities, courses and
subjects, and the students themselves. Drawn per run date: a small drift of students' city and
course (to exercise slowly changing dimensions) and who is active that day, which ties sessions,
subscriptions and events to existing students.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from tasks.generator import names
from tasks.generator.render import Arr, Gen, spelled_table, table, uuid_fragments

DIURNAL = [2, 1, 1, 1, 1, 2, 4, 7, 10, 12, 13, 12, 10, 11, 13, 14, 14, 13, 12, 13, 14, 12, 8, 4]


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


def stream(seed: int, purpose: int, day: date | None = None) -> Gen:
    """One independent stream per purpose, so changing one file's draws leaves the others."""
    return np.random.default_rng([seed, purpose] + ([day.toordinal()] if day else []))


def draw_world(n: dict[str, int]) -> World:
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
        university_p=share(1 / np.arange(1, n["universities"] + 1) ** 0.9),
        courses=names.course_names(n["courses"]),
        course_p=share(course_w),
        subjects=subjects,
        subject_p=share(1 / np.arange(1, n["subjects"] + 1) ** 0.8),
        subject_pages=spelled_table(("Page Category 2", "PageCategory2"), subjects),
        cities=cities,
        city_state=np.array(city_state),
        city_p=share(city_w),
    )


def draw_students(rng: Gen, day: Gen, w: World, n: int) -> Students:
    """The population from `rng` (stable per seed), its drift and activity from `day`."""
    has_id = rng.random(n) >= 0.002
    has_id[0] = True
    city = rng.choice(len(w.cities), n, p=w.city_p)
    university = rng.choice(len(w.universities), n, p=w.university_p)
    course = rng.choice(len(w.courses), n, p=w.course_p)
    profile = pick(rng, n, [weight for _, weight in names.PROFILES])
    ids = _uuids(rng, n)
    installs = uuid_fragments(rng, n + max(1, n // 2), "install_uuid", missing=True)
    moved, switched = day.random(n) < 0.003, day.random(n) < 0.002  # the day's drift
    city[moved] = day.choice(len(w.cities), int(moved.sum()), p=w.city_p)
    course[switched] = day.choice(len(w.courses), int(switched.sum()), p=w.course_p)
    visitors = np.flatnonzero(has_id)
    active = visitors[day.random(visitors.size) < 0.87]
    active = active if active.size else visitors
    activity = share(day.lognormal(0.0, 1.0, active.size))
    return Students(
        ids=ids,
        id_fragments=table("StudentId", ids),
        sid_fragments=table("studentId_clientType", [f"{i}@" for i in ids], closed=False),
        installs=installs,
        has_id=has_id,
        city=city,
        university=university,
        course=course,
        profile=profile,
        active=active,
        activity=activity,
    )


def _uuids(rng: Gen, n: int) -> list[str]:
    """Student Ids: uuid4-like lower-case strings, unique in practice (122 random bits)."""
    return [f[5:-1].decode() for f in uuid_fragments(rng, n, "").tolist()]  # strip `,"":"`, `"`


def seconds(rng: Gen, n: int) -> Arr:
    """Seconds of the day, busier in the afternoon and evening than at night."""
    return pick(rng, n, DIURNAL) * 3600 + rng.integers(0, 3600, n)


def pick(rng: Gen, n: int, weights: list[float]) -> Arr:
    """n indexes into `weights`, drawn in proportion to them."""
    return rng.choice(len(weights), n, p=share(weights))


def drop(rng: Gen, index: Arr, rate: float = 0.02) -> Arr:
    """The same index with `rate` of the entries turned into a missing key (-1)."""
    return np.where(rng.random(index.size) < rate, -1, index)


def share(weights: list[float] | Arr) -> Arr:
    """Weights scaled to sum to 1, as numpy's `choice(p=...)` requires."""
    w = np.asarray(weights, dtype=float)
    return w / w.sum()
