"""The run date: what Prefect refuses before a run starts, and what a scheduled run processes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from prefect.exceptions import ParameterTypeError

from flows.backfill import backfill
from flows.daily import daily_pipeline
from tasks.run_date import days_between, scheduled_day, today


@pytest.mark.parametrize("value", ["2017-13-45", "yesterday", "2999-01-01"])
def test_prefect_refuses_a_bad_or_future_run_date_before_the_run(value: str) -> None:
    with pytest.raises(ParameterTypeError):
        daily_pipeline.validate_parameters({"run_date": value})


def test_a_valid_run_date_arrives_as_a_date() -> None:
    assert daily_pipeline.validate_parameters({"run_date": "2017-11-16"}) == {
        "run_date": date(2017, 11, 16),
        "replay_later": True,
    }
    assert daily_pipeline.validate_parameters({"run_date": today().isoformat()})


def test_a_backfill_validates_both_ends() -> None:
    with pytest.raises(ParameterTypeError):
        backfill.validate_parameters({"start": "2017-11-16", "end": "2999-01-01"})


def test_the_nightly_run_processes_the_previous_day_in_sao_paulo() -> None:
    # 03:00 in Sao Paulo (UTC-3) is 06:00 UTC; 01:00 UTC on the 17th is still the 16th there
    assert scheduled_day(datetime(2017, 11, 17, 6, 0, tzinfo=UTC)) == date(2017, 11, 16)
    assert scheduled_day(datetime(2017, 11, 17, 1, 0, tzinfo=UTC)) == date(2017, 11, 15)


def test_the_time_zone_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import clear_caches

    monkeypatch.setenv("PDBI_TIMEZONE", "UTC")
    clear_caches()
    assert scheduled_day(datetime(2017, 11, 17, 1, 0, tzinfo=UTC)) == date(2017, 11, 16)


def test_days_between_is_inclusive_and_ordered() -> None:
    start = date(2017, 11, 14)
    assert days_between(start, start + timedelta(days=2)) == [
        date(2017, 11, 14), date(2017, 11, 15), date(2017, 11, 16)
    ]  # fmt: skip
    assert days_between(start, start) == [start]
    with pytest.raises(ValueError, match="after"):
        days_between(start, start - timedelta(days=1))
