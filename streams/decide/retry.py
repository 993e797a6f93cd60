"""Retry with capped exponential backoff and jitter, within a per-hop retry budget.

"Equal jitter": half the backoff is fixed, half random, so retries spread out (no thundering herd
after an outage) yet never come back immediately. A provider's Retry-After is a floor.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class RetryPolicy:
    max_tries: int = 4      # provider calls per hop, the first included
    base_ms: int = 1_000
    cap_ms: int = 300_000


class Action(StrEnum):
    RETRY = "retry"      # same hop, after delay_ms
    GIVE_UP = "give_up"  # budget spent: the caller falls back to the next channel or dead-letters


@dataclass(frozen=True)
class RetryDecision:
    action: Action
    delay_ms: int = 0
    reason: str = ""


def backoff_ms(policy: RetryPolicy, tries: int, rand: float) -> int:
    """Delay before try number `tries + 1`; `rand` in [0, 1)."""
    exp = min(policy.cap_ms, policy.base_ms * (2 ** max(0, tries - 1)))
    return int(exp / 2 + rand * exp / 2)


def after_retryable(policy: RetryPolicy, tries: int, rand: float, retry_after_s: float | None = None) -> RetryDecision:
    """After a retryable failure of try number `tries` (1-based)."""
    if tries >= policy.max_tries:
        return RetryDecision(Action.GIVE_UP, reason="retries_exhausted")
    delay = backoff_ms(policy, tries, rand)
    if retry_after_s is not None and retry_after_s > 0:
        delay = max(delay, int(retry_after_s * 1000))
    return RetryDecision(Action.RETRY, delay, "retry")
