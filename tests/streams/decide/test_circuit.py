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
