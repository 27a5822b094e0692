"""Which days a run loads again: the plan of tasks/warehouse/history.py, over plain dates."""

from __future__ import annotations

from datetime import date

from tasks.lake.catch_up import window
from tasks.warehouse.history import History, days_after, pending_before, replay_scope

D = [date(2017, 11, d) for d in range(15, 22)]  # D[0] .. D[6]


def test_a_new_latest_day_replays_nothing() -> None:
    history = History(loaded=(D[0], D[1]))
    assert pending_before(history, D[2]) == ()
    assert replay_scope(history, D[2], merges=True) == ()
    assert days_after(History(loaded=(D[0], D[1], D[2])), D[2], replay_later=True) == ()


def test_a_late_day_locks_and_then_replays_every_later_loaded_day() -> None:
    history = History(loaded=(D[0], D[2], D[3]))
    assert replay_scope(history, D[1], merges=True) == (D[2], D[3])
    # after its rewind and merges, D[2] and D[3] are pending
    after = History(loaded=(D[0], D[1]), pending=(D[2], D[3]))
    assert days_after(after, D[1], replay_later=True) == (D[2], D[3])
    assert days_after(after, D[1], replay_later=False) == ()  # left to a later run


def test_a_run_with_nothing_new_touches_no_loaded_day() -> None:
    history = History(loaded=(D[0], D[1], D[2]))
    assert replay_scope(history, D[1], merges=False) == ()
    assert days_after(history, D[1], replay_later=True) == ()


def test_an_unfinished_replay_is_finished_around_the_day() -> None:
    history = History(loaded=(D[0],), pending=(D[1], D[2], D[4]))
    assert pending_before(history, D[3]) == (D[1], D[2])
    assert replay_scope(history, D[3], merges=True) == (D[1], D[2], D[4])
    # a pending day with nothing new of its own is loaded from its archive
    assert days_after(History(loaded=(D[0],), pending=(D[3], D[4])), D[3], False) == (D[3],)


def test_the_catch_up_window_ends_the_day_before() -> None:
    assert window(D[6], 3) == [D[3], D[4], D[5]]
    assert window(D[6], 0) == []
