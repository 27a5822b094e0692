"""The guard on the day's students: identified page views must match the warehouse's students
about as well as on the previous days.

A students export that lost most of its rows, or events whose ids changed form, leave the day's
outputs almost empty of students (full.csv, states, universities) while every figure of the
events looks normal. So before anything is published the job's count of identified page views
whose student the warehouse holds (as of the day) is compared with the previous days': the
day's share under PDBI_MIN_MATCH_RATIO times the median share of up to MATCH_WINDOW earlier
published days (the daily series' `match_ratio`) stops the run, in one sentence with the
figures, and records the decision in meta.guard_decisions; the decision also goes into the
events' validation result (its meta), which Data Docs show. A day listed in PDBI_ACCEPT_DAYS
goes on, with a warning, recorded as accepted. With no earlier day, or 0 as the setting, there
is nothing to compare.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from statistics import median
from typing import Any

from psycopg.types.json import Jsonb

from tasks.analytics.series import read_series
from tasks.resources import postgres
from tasks.resources.lake import Lake
from tasks.settings import get_settings

LOW_MATCH = "low-student-match"
MATCH_WINDOW = 7  # earlier days whose median share the day is compared with


@dataclass(frozen=True)
class MatchDecision:
    """A failed match guard: whether the run stops, the figures, the sentence."""

    stopped: bool
    figures: dict[str, Any]
    message: str
    source_file: str

    def as_meta(self) -> dict[str, Any]:
        return {
            "guard": LOW_MATCH,
            "decision": "stopped" if self.stopped else "accepted",
            "figures": self.figures,
            "message": self.message,
        }


def earlier_ratios(lake: Lake, day: date) -> list[tuple[str, float]]:
    """(day, share) of up to MATCH_WINDOW published days before the day, latest last."""
    found = []
    for row in read_series(lake):
        if row["day"] < day.isoformat() and (row.get("match_ratio") or "") != "":
            found.append((row["day"], float(row["match_ratio"])))
    return found[-MATCH_WINDOW:]


def check_matches(lake: Lake, day: date, matches: dict[str, int]) -> MatchDecision | None:
    """The failed guard of the day, or None when its share is fine (or nothing to compare)."""
    settings = get_settings()
    floor, identified = settings.min_match_ratio, int(matches.get("identified_views", 0))
    earlier = earlier_ratios(lake, day)
    if floor <= 0 or not earlier or identified == 0:
        return None
    matched = int(matches.get("matched_views", 0))
    share, typical = matched / identified, median(r for _, r in earlier)
    if share >= floor * typical:
        return None
    source = f"raw/{day.isoformat()}/"
    accepted = day in settings.accept_days
    figures = {
        "identified_views": identified, "matched_views": matched, "match_ratio": round(share, 6),
        "median_ratio": round(typical, 6), "earlier_days": [d for d, _ in earlier],
        "min_match_ratio": floor,
    }  # fmt: skip
    message = (
        f"{source}: {matched:,} of the day's {identified:,} identified page views "
        f"({share:.1%}) are of students the warehouse holds, under {floor:.0%} of the median "
        f"of the {len(earlier)} previous day(s) ({typical:.1%}, PDBI_MIN_MATCH_RATIO={floor:g})"
    )
    return MatchDecision(not accepted, figures, message, source)


def record_decision(decision: MatchDecision, day: date, load_id: str) -> None:
    """The decision as a row of meta.guard_decisions (a retried load replaces its own)."""
    with postgres.connect(application_name="pdbi-analytics-guard") as conn:
        conn.execute(
            postgres.read_sql("meta/guard_decision_record.sql"),
            {
                "load_id": load_id, "run_date": day, "guard": LOW_MATCH,
                "source_file": decision.source_file,
                "decision": "stopped" if decision.stopped else "accepted",
                "figures": Jsonb(decision.figures), "message": decision.message,
            },
        )  # fmt: skip


def stop_message(decision: MatchDecision, day: date) -> str:
    return (
        f"{decision.message}, so the run stopped before publishing {day}. Check the day's "
        f"students export (transactional/{day}/students.json) and its events, then run {day} "
        f"again, or, if the day is right, accept it: PDBI_ACCEPT_DAYS='[\"{day}\"]'."
    )
