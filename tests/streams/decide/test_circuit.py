"""Circuit breaker rules: named tables of (circuit, time) -> decision, then whole runs of calls."""
import pytest

from streams.decide.circuit import BreakerConfig, Circuit, State, allow, failure, peek_open, success

CFG = BreakerConfig(failures=5, window_ms=60_000, recovery_ms=30_000, half_open_calls=3)


def _fail(c: Circuit, times: list[int]) -> tuple[Circuit, list]:
    moves = []
    for t in times:
        c, moved = failure(c, t, CFG)
        if moved:
            moves.append(moved)
    return c, moves


def test_five_failures_within_a_minute_open_it() -> None:
    c, moves = _fail(Circuit(), [0, 10_000, 20_000, 30_000])
    assert c.state is State.CLOSED and not moves
    c, moves = _fail(c, [40_000])
    assert c.state is State.OPEN
    assert (moves[0].previous, moves[0].state, moves[0].failures) == (State.CLOSED, State.OPEN, 5)


def test_failures_spread_over_more_than_the_window_do_not() -> None:
    c, _ = _fail(Circuit(), [0, 20_000, 40_000, 60_000, 80_000, 100_000])
    assert c.state is State.CLOSED


def test_open_refuses_until_recovery_then_allows_three_trials() -> None:
    c, _ = _fail(Circuit(), [0, 1, 2, 3, 4])
    ok, c, moved = allow(c, 29_999, CFG)
    assert not ok and moved is None and peek_open(c, 29_999, CFG)
    ok, c, moved = allow(c, 30_004, CFG)
    assert ok and moved is not None and moved.state is State.HALF_OPEN
    ok, c, _ = allow(c, 30_005, CFG)
    assert ok
    ok, c, _ = allow(c, 30_006, CFG)
    assert ok
    ok, c, _ = allow(c, 30_007, CFG)
    assert not ok  # only three trial calls
    assert peek_open(c, 30_007, CFG)


def test_three_successful_trials_close_it() -> None:
    c, _ = _fail(Circuit(), [0, 1, 2, 3, 4])
    for t in (30_004, 30_005, 30_006):
        _, c, _ = allow(c, t, CFG)
    c, moved = success(c, 30_010, CFG)
    c, moved = success(c, 30_011, CFG)
    assert c.state is State.HALF_OPEN and moved is None
    c, moved = success(c, 30_012, CFG)
    assert c.state is State.CLOSED and moved is not None and moved.previous is State.HALF_OPEN


def test_a_failed_trial_opens_it_again_with_a_new_recovery_time() -> None:
    c, _ = _fail(Circuit(), [0, 1, 2, 3, 4])
    _, c, _ = allow(c, 30_004, CFG)
    c, moved = failure(c, 30_100, CFG)
    assert c.state is State.OPEN and moved is not None and c.reopens_at(CFG) == 60_100


def test_force_open_for_a_broken_instance() -> None:
    c, moved = failure(Circuit(), 5, CFG, force_open=True)
    assert c.state is State.OPEN and moved is not None


def test_success_while_closed_changes_nothing() -> None:
    c = Circuit()
    assert success(c, 1, CFG) == (c, None)


CLOSED, OPEN, HALF = State.CLOSED, State.OPEN, State.HALF_OPEN
Plain = tuple[State, tuple[int, ...], int, int, int]  # (state, failures, opened_at_ms, trials started, passed)
Moved = tuple[State, State, int] | None                # (previous, state, failures)


def circuit(p: Plain) -> Circuit:
    return Circuit(*p)


def plain(c: Circuit) -> Plain:
    return (c.state, c.failures, c.opened_at_ms, c.trials_started, c.trials_passed)


def moved(t: object) -> Moved:
    return None if t is None else (t.previous, t.state, t.failures)  # type: ignore[attr-defined]


ALLOW = [
    # (circuit, now) -> (allowed, circuit after, transition); peek_open before the call in the last column
    pytest.param((CLOSED, (), 0, 0, 0), 5, (True, (CLOSED, (), 0, 0, 0), None), False, id="closed-allows"),
    pytest.param((CLOSED, (1, 2, 3, 4), 0, 0, 0), 5, (True, (CLOSED, (1, 2, 3, 4), 0, 0, 0), None), False,
                 id="closed-with-failures-allows"),
    pytest.param((OPEN, (), 100, 0, 0), 30_099, (False, (OPEN, (), 100, 0, 0), None), True,
                 id="open-refuses-before-recovery"),
    pytest.param((OPEN, (), 100, 0, 0), 30_100, (True, (HALF, (), 30_100, 1, 0), (OPEN, HALF, 0)), False,
                 id="open-lets-the-first-trial-through-at-recovery"),
    pytest.param((HALF, (), 30_100, 1, 0), 30_200, (True, (HALF, (), 30_100, 2, 0), None), False,
                 id="half-open-second-trial"),
    pytest.param((HALF, (), 30_100, 3, 1), 30_200, (False, (HALF, (), 30_100, 3, 1), None), True,
                 id="half-open-trials-spent-refuses"),
    pytest.param((HALF, (), 30_100, 3, 2), 60_099, (False, (HALF, (), 30_100, 3, 2), None), True,
                 id="unanswered-trials-wait-one-recovery-time"),
    pytest.param((HALF, (), 30_100, 3, 2), 60_100, (True, (HALF, (), 60_100, 1, 0), None), False,
                 id="unanswered-trials-do-not-hold-it-half-open-for-ever"),
]


@pytest.mark.parametrize(("before", "now", "expected", "peeked"), ALLOW)
def test_allow(before: Plain, now: int, expected: tuple[bool, Plain, Moved], peeked: bool) -> None:
    assert peek_open(circuit(before), now, CFG) is peeked
    ok, after, t = allow(circuit(before), now, CFG)
    assert (ok, plain(after), moved(t)) == expected


FAILURE = [
    # (circuit, now, force_open) -> (circuit after, transition)
    pytest.param((CLOSED, (), 0, 0, 0), 5, False, ((CLOSED, (5,), 0, 0, 0), None), id="first-failure-counted"),
    pytest.param((CLOSED, (0, 1, 2, 3), 0, 0, 0), 40_000, False, ((OPEN, (), 40_000, 0, 0), (CLOSED, OPEN, 5)),
                 id="fifth-within-the-window-opens"),
    pytest.param((CLOSED, (0, 1, 2, 3), 0, 0, 0), 60_004, False, ((CLOSED, (60_004,), 0, 0, 0), None),
                 id="old-failures-leave-the-window"),
    pytest.param((CLOSED, (0, 20_000, 40_000, 59_999), 0, 0, 0), 60_000, False,
                 ((CLOSED, (20_000, 40_000, 59_999, 60_000), 0, 0, 0), None), id="a-failure-window-old-is-out"),
    pytest.param((CLOSED, (), 0, 0, 0), 5, True, ((OPEN, (), 5, 0, 0), (CLOSED, OPEN, 0)),
                 id="force-open-for-a-broken-instance"),
    pytest.param((OPEN, (), 100, 0, 0), 200, False, ((OPEN, (), 100, 0, 0), None), id="open-stays-as-it-is"),
    pytest.param((OPEN, (), 100, 0, 0), 200, True, ((OPEN, (), 100, 0, 0), None), id="open-force-keeps-its-time"),
    pytest.param((HALF, (), 30_100, 2, 1), 30_300, False, ((OPEN, (), 30_300, 0, 0), (HALF, OPEN, 0)),
                 id="failed-trial-opens-again-with-a-new-recovery-time"),
]


@pytest.mark.parametrize(("before", "now", "force", "expected"), FAILURE)
def test_failure(before: Plain, now: int, force: bool, expected: tuple[Plain, Moved]) -> None:
    after, t = failure(circuit(before), now, CFG, force_open=force)
    assert (plain(after), moved(t)) == expected


SUCCESS = [
    pytest.param((CLOSED, (1, 2), 0, 0, 0), ((CLOSED, (1, 2), 0, 0, 0), None), id="closed-changes-nothing"),
    pytest.param((OPEN, (), 100, 0, 0), ((OPEN, (), 100, 0, 0), None), id="open-changes-nothing"),
    pytest.param((HALF, (), 30_100, 3, 1), ((HALF, (), 30_100, 3, 2), None), id="trial-passed-counted"),
    pytest.param((HALF, (), 30_100, 3, 2), ((CLOSED, (), 0, 0, 0), (HALF, CLOSED, 0)), id="last-trial-closes-it"),
]


@pytest.mark.parametrize(("before", "expected"), SUCCESS)
def test_success(before: Plain, expected: tuple[Plain, Moved]) -> None:
    after, t = success(circuit(before), 30_500, CFG)
    assert (plain(after), moved(t)) == expected


def test_trials_that_never_answer_are_tried_again_after_a_recovery_time() -> None:
    """A trial ending in an error that says nothing of the instance's health (a bad number, a 429)
    reports neither success nor failure; the circuit must not stay refusing for ever."""
    c, _ = _fail(Circuit(), [0, 1, 2, 3, 4])
    for t in (30_004, 30_005, 30_006):
        ok, c, _ = allow(c, t, CFG)
        assert ok
    c, _ = success(c, 30_010, CFG)  # one trial passes, two never report
    assert peek_open(c, 60_003, CFG) and not allow(c, 60_003, CFG)[0]
    assert c.reopens_at(CFG) == 60_004  # when the dispatcher parks a refused call until
    ok, c, _ = allow(c, 60_004, CFG)
    assert ok and c.state is State.HALF_OPEN
    for t in (60_010, 60_011, 60_012):
        c, _ = success(c, t, CFG)
    assert c.state is State.CLOSED
