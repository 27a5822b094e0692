"""The Data quality and Pipeline sources when they cannot be read: one sentence, no trace.

The happy paths read a real PostgreSQL and a real Prefect API in the browser tests
(tests/browser/test_pages.py, test_pipeline_prefect.py); here nothing listens.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pandas as pd
import pytest

from panel_app import warehouse
from panel_app.warehouse import Unavailable, format_duration
from tasks.settings import get_settings

pytestmark = pytest.mark.unit

NOBODY = "postgresql://postgres@127.0.0.1:1/pdbi"  # a port where nothing listens


@pytest.fixture(autouse=True)
def no_cached_reads() -> Iterator[None]:
    for loader in warehouse.LOADERS:
        loader.clear()
    yield
    for loader in warehouse.LOADERS:
        loader.clear()


@pytest.fixture
def prefect_api():
    """Set Prefect's API URL for the test (None: unset), whatever the environment says."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    def use(url: str | None):
        if url is None:
            return temporary_settings(restore_defaults={PREFECT_API_URL})
        return temporary_settings(updates={PREFECT_API_URL: url})

    return use


def test_without_a_warehouse_the_page_names_the_command(isolated_settings) -> None:
    assert get_settings().database_url is None
    with pytest.raises(Unavailable, match=r"embedded PostgreSQL is not running.*pdbi run --date"):
        warehouse.quality_data()
    assert not (isolated_settings / "data" / "pgdata").exists()  # and none was started


def test_an_unreachable_database_is_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PDBI_DATABASE_URL", NOBODY)
    get_settings.cache_clear()
    warehouse.postgres.database_url.cache_clear()

    with pytest.raises(Unavailable, match="^The warehouse could not be read: ") as raised:
        warehouse.warehouse_runs()
    assert "\n" not in str(raised.value)


def test_prefect_is_not_asked_without_an_api_url(prefect_api) -> None:
    with prefect_api(None), pytest.raises(Unavailable, match="PREFECT_API_URL is not set"):
        warehouse.prefect_runs(1.0)


def test_an_unreachable_prefect_api_fails_fast(prefect_api) -> None:
    with prefect_api("http://127.0.0.1:1/api"), pytest.raises(Unavailable, match="did not answer"):
        warehouse.prefect_runs(1.0)


def test_no_run_history_names_both_reasons(prefect_api) -> None:
    with prefect_api(None), pytest.raises(Unavailable) as raised:
        warehouse.pipeline_runs(1.0)
    message = str(raised.value)
    assert "PREFECT_API_URL is not set" in message
    assert "embedded PostgreSQL is not running" in message


def test_the_warehouse_history_when_prefect_is_not_set(prefect_api, monkeypatch) -> None:
    started = pd.Timestamp("2026-11-20 03:00", tz="UTC")
    runs = pd.DataFrame(
        {
            "run": ["r1"],
            "run_date": ["2017-11-16"],
            "state": ["completed"],
            "started_at": [started],
            "finished_at": [started + pd.Timedelta(minutes=4, seconds=5)],
        }
    )
    monkeypatch.setattr(warehouse, "warehouse_runs", lambda: warehouse._with_duration(runs))
    with prefect_api(None):
        found = warehouse.pipeline_runs(1.0)
    assert found.source == "warehouse (meta.pipeline_runs)"
    assert found.note == "Prefect: PREFECT_API_URL is not set."
    assert format_duration(found.frame["duration"].iloc[0]) == "4 min 05 s"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "<1 s"), (0.4, "<1 s"), (12, "12 s"), (60, "1 min 00 s"), (187, "3 min 07 s"),
     (3600, "1 h 00 min"), (3725, "1 h 02 min")],
)  # fmt: skip
def test_format_duration(seconds: int, text: str) -> None:
    assert format_duration(timedelta(seconds=seconds)) == text
    assert format_duration(pd.NaT) == ""
    assert format_duration(None) == ""
