"""The worker's circuit breakers, one per channel instance (streams.decide.circuit), and their
transitions waiting to be published.

Breaker state is per worker and in memory on purpose: a breaker describes what this process saw in
the last minute, and after a restart (which takes longer than the recovery time) a closed breaker is
what the pure rules would compute anyway. Transitions go to the circuit topic for dashboards.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from streams.decide import circuit
from streams.decide.circuit import BreakerConfig, Circuit, Transition
from streams.metrics import CIRCUIT_VALUES, Metrics


@dataclass(frozen=True)
class Moved:
    instance_id: str
    transition: Transition


class Breakers:
    def __init__(self, cfg: BreakerConfig, clock: Callable[[], int], metrics: Metrics) -> None:
        self._cfg = cfg
        self._clock = clock
        self._metrics = metrics
        self._circuits: dict[str, Circuit] = {}
        self.moved: list[Moved] = []

    def _set(self, instance_id: str, c: Circuit, move: Transition | None) -> None:
        self._circuits[instance_id] = c
        if move is not None:
            self.moved.append(Moved(instance_id, move))
            self._metrics.circuit.labels(instance_id).set(CIRCUIT_VALUES[move.state.value])

    def is_open(self, instance_id: str) -> bool:
        return circuit.peek_open(self._circuits.get(instance_id, Circuit()), self._clock(), self._cfg)

    def reopens_at(self, instance_id: str) -> int:
        c = self._circuits.get(instance_id, Circuit())
        return max(c.reopens_at(self._cfg), self._clock() + 1000)

    def allow(self, instance_id: str) -> bool:
        ok, c, move = circuit.allow(self._circuits.get(instance_id, Circuit()), self._clock(), self._cfg)
        self._set(instance_id, c, move)
        return ok

    def success(self, instance_id: str) -> None:
        c, move = circuit.success(self._circuits.get(instance_id, Circuit()), self._clock(), self._cfg)
        self._set(instance_id, c, move)

    def failure(self, instance_id: str, *, force_open: bool = False) -> None:
        c, move = circuit.failure(self._circuits.get(instance_id, Circuit()), self._clock(), self._cfg,
                                  force_open=force_open)
        self._set(instance_id, c, move)

    def take_moves(self) -> list[Moved]:
        moved, self.moved = self.moved, []
        return moved
