"""The guard on the day's students: identified page views matching too few of the warehouse's
students, against the median of earlier days, stops the day before publishing with the figures
named; PDBI_ACCEPT_DAYS lets it through; the decision is a row of meta.guard_decisions and is
in the events' validation result (what Data Docs show). The job's figures come from a real
Spark run over the hand-written day; the expected ones are counted here from its lines."""

from __future__ import annotations

import json
from datetime import date

import psycopg
import pytest

from tasks.analytics.matches import LOW_MATCH, check_matches, record_decision, stop_message
from tasks.analytics.run import record_validation
from tasks.analytics.series import update_series
from tasks.resources import postgres
from tasks.resources.lake import get_lake
from tests.conftest import clear_caches
from tests.integration.analytics_day import EVENT_LINES, STUDENTS, identified, parse

pytestmark = pytest.mark.integration
DAY = date(2017, 11, 16)


def expected_matches() -> tuple[int, int]:
    """(identified views, views of students the warehouse knows), from the lines alone."""
    events = identified(parse(EVENT_LINES)[0])
    known = {s["student_id"] for s in STUDENTS}
    return len(events), sum(1 for r in events if r["_student"] in known)


def earlier_days(ratios: dict[str, str]) -> None:
    """Earlier days of the series with these match ratios."""
    lake = get_lake()
    lake.ensure_zones()
    for day, ratio in ratios.items():
        update_series(lake, {"day": day, "match_ratio": ratio})


def test_the_job_counts_the_days_matches(analytics_run: dict) -> None:
    views, matched = expected_matches()
    assert 0 < matched < views  # s3 is not in the warehouse
    found = analytics_run["_matches"]
    assert (found["identified_views"], found["matched_views"]) == (views, matched)


def test_no_earlier_day_or_a_share_within_the_ratio_passes(
    analytics_run: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    get_lake().ensure_zones()
    assert check_matches(get_lake(), DAY, analytics_run["_matches"]) is None  # nothing to compare
    views, matched = expected_matches()
    earlier_days({"2017-11-14": "1.0", "2017-11-15": f"{matched / views:.6f}"})
    monkeypatch.setenv("PDBI_MIN_MATCH_RATIO", "0.5")
    clear_caches()
    assert check_matches(get_lake(), DAY, analytics_run["_matches"]) is None


@pytest.mark.parametrize("accepted", [False, True], ids=["stopped", "accepted"])
def test_too_few_matches_stop_the_day_or_are_accepted_and_recorded(
    migrated: psycopg.Connection,
    analytics_run: dict,
    monkeypatch: pytest.MonkeyPatch,
    accepted: bool,
) -> None:
    views, matched = expected_matches()
    # earlier days matched every view; later ones (and the day itself) are not compared
    earlier_days({"2017-11-13": "1.0", "2017-11-14": "0.9", "2017-11-15": "1.0",
                  "2017-11-17": "0.0"})  # fmt: skip
    monkeypatch.setenv("PDBI_MIN_MATCH_RATIO", "0.99")
    if accepted:
        monkeypatch.setenv("PDBI_ACCEPT_DAYS", json.dumps([DAY.isoformat()]))
    clear_caches()
    decision = check_matches(get_lake(), DAY, analytics_run["_matches"])
    assert decision is not None and decision.stopped is not accepted
    share = matched / views
    assert decision.message == (
        f"raw/2017-11-16/: {matched:,} of the day's {views:,} identified page views "
        f"({share:.1%}) are of students the warehouse holds, under 99% of the median of the 3 "
        "previous day(s) (100.0%, PDBI_MIN_MATCH_RATIO=0.99)"
    )
    sentence = stop_message(decision, DAY)
    assert sentence.count(". ") == 1 and "\n" not in sentence  # two sentences, no traceback
    assert "PDBI_ACCEPT_DAYS='[\"2017-11-16\"]'" in sentence

    record_decision(decision, DAY, "load-1")
    record_validation(migrated, {**analytics_run, "_guards": [decision.as_meta()]}, "load-1",
                      DAY, "loaded" if accepted else "failed")  # fmt: skip
    migrated.commit()
    with postgres.connect() as conn:
        rows = postgres.fetch_all(
            conn,
            "select run_date, guard, decision, (figures->>'matched_views')::int,"
            " (figures->>'identified_views')::int, figures->'earlier_days', message"
            " from meta.guard_decisions",
        )
        (meta,) = postgres.fetch_all(
            conn, "select result->'meta'->'pdbi'->'guards' from meta.validation_results"
        )[0]
    assert rows == [(DAY, LOW_MATCH, "accepted" if accepted else "stopped", matched, views,
                     ["2017-11-13", "2017-11-14", "2017-11-15"], decision.message)]  # fmt: skip
    assert meta == [decision.as_meta()]
