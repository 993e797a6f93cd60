"""The worker's breakers: one circuit per channel instance, transitions queued for the circuit topic."""
from __future__ import annotations

from prometheus_client import CollectorRegistry

from streams.breakers import Breakers
from streams.decide.circuit import BreakerConfig, State
from streams.metrics import CIRCUIT_VALUES, Metrics

CFG = BreakerConfig(failures=2, window_ms=60_000, recovery_ms=30_000, half_open_calls=1)


class Clock:
    def __init__(self) -> None:
        self.ms = 1_000

    def __call__(self) -> int:
        return self.ms


def breakers() -> tuple[Breakers, Clock]:
    clock = Clock()
    return Breakers(CFG, clock, Metrics(CollectorRegistry())), clock


def test_each_instance_has_its_own_circuit_and_moves_are_taken_once() -> None:
    b, _ = breakers()
    b.failure("wa-meta")
    b.failure("wa-meta")
    assert b.is_open("wa-meta") and not b.is_open("sms-twilio")
    assert not b.allow("wa-meta") and b.allow("sms-twilio")
    moves = b.take_moves()
    assert [(m.instance_id, m.transition.previous, m.transition.state) for m in moves] == [
        ("wa-meta", State.CLOSED, State.OPEN)]
    assert b.take_moves() == []


def test_a_trial_after_recovery_closes_it_on_success() -> None:
    b, clock = breakers()
    b.failure("wa-meta", force_open=True)
    clock.ms += 30_000
    assert b.allow("wa-meta")
    b.success("wa-meta")
    assert not b.is_open("wa-meta")
    assert [m.transition.state for m in b.take_moves()] == [State.OPEN, State.HALF_OPEN, State.CLOSED]


def test_reopens_at_is_never_sooner_than_a_second_from_now() -> None:
    b, clock = breakers()
    b.failure("wa-meta", force_open=True)
    assert b.reopens_at("wa-meta") == clock.ms + 30_000
    clock.ms += 29_500
    assert b.reopens_at("wa-meta") == clock.ms + 1000


def test_the_state_gauge_follows_the_moves() -> None:
    metrics = Metrics(CollectorRegistry())
    b = Breakers(CFG, Clock(), metrics)
    b.failure("wa-meta", force_open=True)
    [family] = metrics.circuit.collect()
    assert [(s.labels, s.value) for s in family.samples] == [({"channel_instance": "wa-meta"}, CIRCUIT_VALUES["open"])]
