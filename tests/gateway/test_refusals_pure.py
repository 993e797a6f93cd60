"""The per-source refusal budget: fixed windows per address, bounded memory, time passed in."""
from __future__ import annotations

import pytest

from gateway.refusals import SourceLimiter


def charges(limiter: SourceLimiter, source: str, times: list[float]) -> list[float | None]:
    return [limiter.charge(source, t) for t in times]


@pytest.mark.parametrize(("per_window", "times", "expected"), [
    (3, [0, 1, 2], [None, None, None]),
    (3, [0, 1, 2, 3], [None, None, None, 57.0]),
    (3, [0, 1, 2, 3, 59.5], [None, None, None, 57.0, 0.5]),
    (3, [0, 1, 2, 3, 60], [None, None, None, 57.0, None]),  # a new window from its first refusal
    (1, [0, 10, 70, 71], [None, 50.0, None, 59.0]),
    (0, [0, 0, 0, 0], [None, None, None, None]),  # 0: no limit
], ids=["within-budget", "over-budget", "still-over-at-the-end", "next-window", "window-starts-at-first-refusal",
        "disabled"])
def test_budget_per_window(per_window, times, expected):
    assert charges(SourceLimiter(per_window, window_s=60), "198.51.100.1", times) == expected


def test_sources_are_counted_apart():
    limiter = SourceLimiter(2, window_s=60)
    assert charges(limiter, "a", [0, 0, 0]) == [None, None, 60.0]
    assert charges(limiter, "b", [1, 1]) == [None, None]
    assert limiter.charge("a", 1) == 59.0


def test_memory_is_bounded_and_expired_windows_leave_first():
    limiter = SourceLimiter(1, window_s=60, max_sources=3)
    for n, source in enumerate("abc"):
        limiter.charge(source, n)
    assert len(limiter) == 3
    limiter.charge("d", 3)  # full: the oldest window (a) is forgotten
    assert len(limiter) == 3 and limiter.charge("a", 4) is None
    limiter.charge("e", 100)  # every window but the new one has expired
    assert len(limiter) == 1
