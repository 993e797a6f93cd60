"""Retry decisions as tables: backoff per try and jitter, the retry budget, Retry-After as a floor."""
import pytest

from streams.decide.retry import Action, RetryPolicy, after_retryable, backoff_ms

POLICY = RetryPolicy(max_tries=4, base_ms=1000, cap_ms=8000)


@pytest.mark.parametrize(("tries", "rand", "delay"), [
    pytest.param(1, 0.0, 500, id="first-retry-no-jitter"),
    pytest.param(2, 0.0, 1000, id="doubles"),
    pytest.param(3, 0.0, 2000, id="doubles-again"),
    pytest.param(4, 0.0, 4000, id="cap-halved-without-jitter"),
    pytest.param(5, 0.0, 4000, id="capped"),
    pytest.param(30, 0.0, 4000, id="capped-far-out"),
    pytest.param(1, 0.999, 999, id="first-retry-most-jitter"),
    pytest.param(2, 0.999, 1999, id="second-retry-most-jitter"),
    pytest.param(3, 0.999, 3998, id="third-retry-most-jitter"),
    pytest.param(5, 0.5, 6000, id="capped-half-jitter"),
    pytest.param(0, 0.0, 500, id="try-zero-as-the-first"),
])
def test_backoff_doubles_with_equal_jitter_and_is_capped(tries: int, rand: float, delay: int) -> None:
    assert backoff_ms(POLICY, tries, rand) == delay


@pytest.mark.parametrize(("tries", "rand", "retry_after_s", "expected"), [
    pytest.param(1, 0.5, None, (Action.RETRY, 750, "retry"), id="first-failure-retries"),
    pytest.param(3, 0.5, None, (Action.RETRY, 3000, "retry"), id="last-try-of-the-budget-retries"),
    pytest.param(4, 0.5, None, (Action.GIVE_UP, 0, "retries_exhausted"), id="budget-spent-gives-up"),
    pytest.param(9, 0.5, 60, (Action.GIVE_UP, 0, "retries_exhausted"), id="retry-after-does-not-extend-the-budget"),
    pytest.param(1, 0.0, 30, (Action.RETRY, 30_000, "retry"), id="retry-after-is-a-floor"),
    pytest.param(1, 0.0, 0.1, (Action.RETRY, 500, "retry"), id="shorter-retry-after-keeps-the-backoff"),
    pytest.param(1, 0.0, 0, (Action.RETRY, 500, "retry"), id="zero-retry-after-ignored"),
    pytest.param(1, 0.0, -5, (Action.RETRY, 500, "retry"), id="negative-retry-after-ignored"),
])
def test_after_retryable(tries: int, rand: float, retry_after_s: float | None,
                         expected: tuple[Action, int, str]) -> None:
    d = after_retryable(POLICY, tries, rand, retry_after_s)
    assert (d.action, d.delay_ms, d.reason) == expected


def test_a_budget_of_one_try_never_retries() -> None:
    d = after_retryable(RetryPolicy(max_tries=1), 1, 0.5)
    assert (d.action, d.reason) == (Action.GIVE_UP, "retries_exhausted")
