"""Circuit breaker per channel instance: N failures within a window open it; after the recovery time
a few trial calls (half-open) decide between closing it and opening it again.

Only failures that say the instance is unhealthy count (transport errors, 5xx, timeouts, broken
credentials); a patient's bad number or a provider's 429 says nothing about the instance.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


class State(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class BreakerConfig:
    failures: int = 5
    window_ms: int = 60_000
    recovery_ms: int = 30_000
    half_open_calls: int = 3


@dataclass(frozen=True)
class Circuit:
    state: State = State.CLOSED
    failures: tuple[int, ...] = ()  # failure times within the window (closed state)
    opened_at_ms: int = 0           # when it opened; half-open: when its current trials began
    trials_started: int = 0         # half-open calls let through
    trials_passed: int = 0

    def reopens_at(self, cfg: BreakerConfig) -> int:
        return self.opened_at_ms + cfg.recovery_ms


@dataclass(frozen=True)
class Transition:
    previous: State
    state: State
    failures: int


def _move(c: Circuit, new: Circuit) -> tuple[Circuit, Transition | None]:
    if new.state is c.state:
        return new, None
    return new, Transition(c.state, new.state, len(c.failures))


def _open(now_ms: int) -> Circuit:
    return Circuit(State.OPEN, (), now_ms)


def allow(c: Circuit, now_ms: int, cfg: BreakerConfig) -> tuple[bool, Circuit, Transition | None]:
    """May a call go out now? Counts the half-open trial it lets through."""
    if c.state is State.OPEN:
        if now_ms < c.reopens_at(cfg):
            return False, c, None
        c, moved = _move(c, Circuit(State.HALF_OPEN, (), now_ms))
        ok, c, _ = allow(c, now_ms, cfg)
        return ok, c, moved
    if c.state is State.HALF_OPEN:
        if c.trials_started >= cfg.half_open_calls:
            if now_ms < c.reopens_at(cfg):
                return False, c, None
            # trials unanswered for a recovery time (an error that says nothing of the instance's
            # health reports neither way): a fresh round, or the circuit would refuse for ever
            return True, replace(c, opened_at_ms=now_ms, trials_started=1, trials_passed=0), None
        return True, replace(c, trials_started=c.trials_started + 1), None
    return True, c, None


def peek_open(c: Circuit, now_ms: int, cfg: BreakerConfig) -> bool:
    """Routing's view: is the instance unusable now? (No trial is counted.)"""
    if c.state is State.OPEN:
        return now_ms < c.reopens_at(cfg)
    if c.state is State.HALF_OPEN:
        return c.trials_started >= cfg.half_open_calls and now_ms < c.reopens_at(cfg)
    return False


def success(c: Circuit, now_ms: int, cfg: BreakerConfig) -> tuple[Circuit, Transition | None]:
    if c.state is State.HALF_OPEN:
        passed = c.trials_passed + 1
        if passed >= cfg.half_open_calls:
            return _move(c, Circuit())
        return replace(c, trials_passed=passed), None
    return c, None


def failure(c: Circuit, now_ms: int, cfg: BreakerConfig, *,
            force_open: bool = False) -> tuple[Circuit, Transition | None]:
    """A health failure; `force_open` for errors that prove the instance broken (expired token)."""
    if c.state is State.OPEN:
        return c, None
    if c.state is State.HALF_OPEN or force_open:
        return _move(c, _open(now_ms))
    recent = (*(t for t in c.failures if now_ms - t < cfg.window_ms), now_ms)
    if len(recent) >= cfg.failures:
        new, moved = _move(c, _open(now_ms))
        return new, Transition(State.CLOSED, State.OPEN, len(recent)) if moved else None
    return replace(c, failures=recent), None
