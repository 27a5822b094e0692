"""BASE B for the data generator: the page views of one part file, as columns to render.

Kept apart from BASE A (`generate.py`) because events are the widest records by far: who the
visitor is, on which device, on which page, and the counters of the visit, each with the quirks of
dataset.md (missing keys, two spellings of the spaced keys, states by name or UF).
"""

from __future__ import annotations

import numpy as np

from tasks.generator import names
from tasks.generator.render import Arr, Column, Gen, respell, spelled, table, uuid_fragments
from tasks.generator.world import Students, World, drop, pick


def event_columns(rng: Gen, w: World, st: Students, n: int, unspaced: bool) -> list[Column]:
    """One part file's events (the caller adds `at`): who, on which device, on which page."""
    ident = rng.random(n) >= 0.20
    who = st.active[rng.choice(st.active.size, n, p=st.activity)]
    client = pick(rng, n, [weight for _, weight in names.CLIENTS])
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
    kind = pick(rng, n, [82, 13, 5])  # course name, null, "unknown"
    course = np.select([kind == 1, kind == 2], [len(w.courses), len(w.courses) + 1], course)
    university = np.where(kind == 1, len(w.universities), university)
    profile = np.where(ident, st.profile[who], pick(rng, n, [x for _, x in names.PROFILES]))
    foreign = rng.random(n) < 0.02
    country = np.where(foreign, 1 + pick(rng, n, [x for _, x in names.COUNTRIES]), 0)
    city = np.where(ident, st.city[who], rng.choice(len(w.cities), n, p=w.city_p))
    region = w.city_state[city] + len(names.STATES) * (rng.random(n) < 0.3)  # name or UF
    states = [s for s, _, _ in names.STATES] + [uf for _, uf, _ in names.STATES]
    return [
        (st.sid_fragments, np.where(ident, who, -1)),
        (clients, np.where(ident, client, -1)),
        (table("custom_1", w.universities + [None]), drop(rng, university)),
        (table("custom_2", w.courses + [None, "unknown"]), drop(rng, course)),
        (table("custom_4", [p for p, _ in names.PROFILES]), drop(rng, profile)),
        (table("country", ["br"] + [c for c, _ in names.COUNTRIES]), drop(rng, country, 0.005)),
        (table("city_name", w.cities), drop(rng, np.where(foreign, -1, city))),
        (table("region", states), drop(rng, np.where(foreign, -1, region))),
        (table("user_type", ["anonymous", "registered"]), drop(rng, ident.astype(int))),
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
        (table("platform", ["Web", "Android", "iOS"]), platform),
        (table("type", ["page", "screen"]), (~web).astype(int)),
        (table("browser", [b for b, _ in names.BROWSERS]),
         drop(rng, np.where(web, pick(rng, n, [x for _, x in names.BROWSERS]), -1))),
        (table("carrier", [c for c, _ in names.CARRIERS]),
         drop(rng, np.where(web, -1, pick(rng, n, [x for _, x in names.CARRIERS])))),
        (table("model", models), drop(rng, np.where(web, -1, model))),
        (table("os_ver", sum(os_tables, [])), drop(rng, os_ver)),
        (table("library_ver", [names.LIBRARY_VERSIONS[p] for p in ("Web", "Android", "iOS")]),
         drop(rng, platform)),
        (table("language", [x for x, _ in names.LANGUAGES]),
         drop(rng, pick(rng, n, [x for _, x in names.LANGUAGES]))),
        (table("device_new", [False, True]), drop(rng, (rng.random(n) < 0.08).astype(int))),
        (st.installs, drop(rng, install)),
    ]  # fmt: skip


def _page(rng: Gen, w: World, spell: Arr) -> list[Column]:
    """The page viewed, in the part's spelling of the spaced keys."""
    n, pages = spell.size, names.PAGES
    page = pick(rng, n, [p[5] for p in pages])
    material = np.array([p[1] == "Material" for p in pages])[page]
    with_subject = material | (np.array([p[0] == "Disciplina" for p in pages])[page])
    subject = np.where(with_subject, rng.choice(len(w.subjects), n, p=w.subject_p), -1)
    shown = drop(rng, page)
    url = drop(rng, page)
    numbered = np.array([p[4] for p in pages])[page]
    number = np.char.add(rng.integers(10**6, 10**8, n).astype("S8"), b'"')  # closes the url
    number = np.where(url < 0, b"", np.where(numbered, number, b'"'))
    landing = np.where(rng.random(n) < 0.3, rng.integers(0, len(names.LANDING_PAGES), n), -1)
    return [
        spelled(("Page Name", "PageName"), [p[0] for p in pages], drop(rng, page), spell),
        spelled(("Page Category", "PageCategory"), [p[1] for p in pages], drop(rng, page), spell),
        spelled(("Page Category 1", "PageCategory1"), [p[2] for p in pages], shown, spell),
        respell(w.subject_pages, subject, spell),
        spelled(("Page Category 3", "PageCategory3"), names.MATERIAL_ACCESS,
                 np.where(material, (rng.random(n) < 0.15).astype(int), -1), spell),
        spelled(("Last Accessed Url", "LastAccessedUrl"),
                 [f"https://www.passeidireto.com{p[3]}" for p in pages], url, spell, closed=False),
        number.tolist(),
        (table("first-accessed-page", names.LANDING_PAGES), landing),
    ]  # fmt: skip


def _visit(rng: Gen, ident: Arr, who: Arr) -> list[Column]:
    """Counters, campaign and ids of the view itself."""
    n = ident.size
    semester = np.where(ident, who % 10, 10)
    campaign = pick(rng, n, [80, 8, 6, 4, 2]) - 1
    clv = np.where(rng.random(n) < 0.15, np.minimum(rng.lognormal(4, 1, n).astype(int), 4999), 0)
    sessions = max(1, n // 4)
    keys = ("marketing_source", "marketing_medium", "marketing_campaign")
    source, medium, name = (table(k, [m[i] for m in names.MARKETING]) for i, k in enumerate(keys))
    marketing = source + medium + name  # one column: the three keys come and go together
    return [
        (table("name", ["PageView"]), np.zeros(n, dtype=int)),
        (table("nth", list(range(1000))), drop(rng, np.minimum(rng.geometric(0.05, n), 999))),
        (table("clv_total", list(range(5000))), drop(rng, clv)),
        (
            table("custom_3", [f"{i}º semestre" for i in range(1, 11)] + [None]),
            drop(rng, semester),
        ),
        (marketing, campaign),
        (uuid_fragments(rng, sessions, "session_uuid"), drop(rng, rng.integers(0, sessions, n))),
        uuid_fragments(rng, n, "uuid").tolist(),
    ]
