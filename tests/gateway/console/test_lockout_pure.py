"""Lock-out counting: failures in a row, reset by success or unlock, each event counted once, expiry."""
from __future__ import annotations

import pytest

from gateway.console.lockout import FAILED, LOCKED, SUCCEEDED, UNLOCKED, Attempts, Policy, SignInEvent

POLICY = Policy(failures=5, lock_ms=1_800_000)
T0 = 1_800_000_000_000


def ev(i: int, kind: str = FAILED, at: int | None = None) -> SignInEvent:
    return SignInEvent(f"e{i}", "clinic-42", "alice", kind, T0 + i if at is None else at)


def fold(events: list[SignInEvent]) -> Attempts:
    a = Attempts()
    for e in events:
        a = a.apply(e)
    return a


@pytest.mark.parametrize(("events", "failures", "locked"), [
    pytest.param([], 0, False, id="nothing"),
    pytest.param([ev(i) for i in range(4)], 4, False, id="four-failures"),
    pytest.param([ev(i) for i in range(5)], 5, True, id="five-failures-lock"),
    pytest.param([ev(i) for i in range(6)], 6, True, id="six-failures"),
    pytest.param([*(ev(i) for i in range(4)), ev(4, SUCCEEDED), ev(5)], 1, False, id="success-resets"),
    pytest.param([*(ev(i) for i in range(5)), ev(5, UNLOCKED)], 0, False, id="unlock-resets"),
    pytest.param([*(ev(i) for i in range(4)), ev(3), ev(2)], 4, False, id="same-event-twice-counts-once"),
    pytest.param([*(ev(i) for i in range(4)), ev(4, SUCCEEDED), ev(3)], 0, False,
                 id="own-failure-read-back-after-a-success"),
    pytest.param([*(ev(i) for i in range(5)), ev(5, LOCKED)], 5, True, id="locked-record-is-informative"),
])
def test_failures_in_a_row(events, failures, locked):
    a = fold(events)
    assert a.failures == failures
    assert a.locked(POLICY, T0 + 100) is locked


def test_the_lock_runs_out_after_its_period():
    a = fold([ev(i) for i in range(5)])
    last = T0 + 4
    assert a.locked(POLICY, last + POLICY.lock_ms - 1)
    assert not a.locked(POLICY, last + POLICY.lock_ms)
    assert a.expired(POLICY, last + POLICY.lock_ms)
