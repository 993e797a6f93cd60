from streams.decide.retry import Action, RetryPolicy, after_retryable, backoff_ms

POLICY = RetryPolicy(max_tries=4, base_ms=1000, cap_ms=8000)


def test_backoff_doubles_with_equal_jitter_and_is_capped() -> None:
    assert [backoff_ms(POLICY, n, 0.0) for n in (1, 2, 3, 4, 5)] == [500, 1000, 2000, 4000, 4000]
    assert [backoff_ms(POLICY, n, 0.999) for n in (1, 2, 3)] == [999, 1999, 3998]


def test_retries_until_the_budget_then_gives_up() -> None:
    assert after_retryable(POLICY, 1, 0.5).action is Action.RETRY
    assert after_retryable(POLICY, 3, 0.5).action is Action.RETRY
    last = after_retryable(POLICY, 4, 0.5)
    assert (last.action, last.reason) == (Action.GIVE_UP, "retries_exhausted")


def test_retry_after_is_a_floor() -> None:
    assert after_retryable(POLICY, 1, 0.0, retry_after_s=30).delay_ms == 30_000
    assert after_retryable(POLICY, 1, 0.0, retry_after_s=0.1).delay_ms == 500
