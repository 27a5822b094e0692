"""The Geography page's *Minimum accesses* takes only counts: a negative number typed in the box
never reaches the page (Bokeh's input, bounded at 0, keeps it out; the session's store refuses
it too), the box goes back to the threshold in force, and the server logs no error."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import assert_no_server_errors

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("typed", ["-5", "-1"])
def test_a_negative_threshold_is_refused(page: Page, servers, typed: str) -> None:
    page.goto(servers["full"].page_url("geography"))
    threshold = page.get_by_label("Minimum accesses")
    expect(threshold).to_have_value("100")
    threshold.fill("50")
    threshold.press("Enter")
    expect(page.get_by_role("heading", name="with more than 50 accesses")).to_be_visible()

    threshold.fill(typed)
    threshold.press("Enter")
    threshold.press("Tab")

    # the box goes back to the threshold in force; the page never used the negative one
    expect(threshold).to_have_value("50")
    expect(page.get_by_role("heading", name="with more than 50 accesses")).to_be_visible()
    assert_no_server_errors(servers["full"].log)


def test_the_store_refuses_a_negative_threshold() -> None:
    from panel_app.store import AnalyticsStore
    from tasks.resources.lake import Lake

    store = AnalyticsStore(lake=Lake("memory://threshold-test"))
    with pytest.raises(ValueError, match="threshold"):
        store.threshold = -1
    assert store.threshold == 100
