"""Analytics for one day: its partition of the analytics zone, from its students as of the day."""

from __future__ import annotations

from datetime import date

from tasks.analytics.current import Published, analytics_inputs, reuse_published
from tasks.analytics.publish import publish_outputs, settle_published
from tasks.analytics.run import run_analytics
from tasks.quality.reports import build_reports


def analyse_and_publish(run_date: date, students: str | None, load_id: str) -> Published:
    """The day's partition, unless it already holds the outputs of the same inputs (Spark is
    skipped); then the root (when the day is the latest) and the day's series row."""
    inputs = analytics_inputs(run_date, students)
    published = reuse_published(run_date, inputs)  # the same inputs: Spark is skipped
    if published is not None:
        settle_published(run_date)
        return published
    # the events are validated in Spark: Data Docs show their suite, passed or failed
    analysed = run_analytics(run_date, students, inputs, load_id, return_state=True)
    build_reports(run_date, return_state=True)
    return publish_outputs(analysed.result(), run_date)
