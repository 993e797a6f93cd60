"""The unseen-accept watch: which accepted sends to name, when, and only once (gateway/unseen.py)."""
from __future__ import annotations

from gateway.unseen import UnseenWatch


def test_a_send_is_checked_once_its_time_came_and_named_only_if_unseen() -> None:
    watch = UnseenWatch(after_ms=1000)
    watch.note("a", 0)
    watch.note("b", 10)
    watch.note("c", 2000)
    known = {"b"}
    assert watch.sweep(999, known.__contains__) == []  # nothing due yet
    assert watch.sweep(1010, known.__contains__) == ["a"]  # b is known; c is not due
    assert watch.sweep(1010, known.__contains__) == []  # each once
    assert len(watch) == 1
    assert watch.sweep(5000, lambda mid: False) == ["c"]
    assert len(watch) == 0


def test_beyond_capacity_the_oldest_checks_are_dropped_and_counted() -> None:
    watch = UnseenWatch(after_ms=0, capacity=2)
    for n, mid in enumerate("abc"):
        watch.note(mid, n)
    assert (len(watch), watch.dropped) == (2, 1)
    assert watch.sweep(10, lambda mid: False) == ["b", "c"]
