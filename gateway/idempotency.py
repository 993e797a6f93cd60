"""Idempotency keys: deterministic message ids and a per-process, bounded memory of accepted sends.

message_id = uuid5(NAMESPACE, organization + "\\n" + key): a retry gets the same id in any worker,
even after a restart, so the streams' dedup table (keyed by message id) drops a duplicate that two
uvicorn workers raced to publish. The in-process table only saves the publish and detects a key
reused with another body (409) when the retry lands on the same worker within its memory.
"""
from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from enum import Enum

from schemas.ids import uuid5_str

NAMESPACE = uuid.UUID("6f1c3c1e-5b0e-4c55-9b7e-8c2a9d1f0a11")
DEFAULT_CAPACITY = 100_000


def message_id_for(organization_id: str, idempotency_key: str) -> str:
    return uuid5_str(NAMESPACE, f"{organization_id}\n{idempotency_key}")


@dataclass(frozen=True)
class Accepted:
    message_id: str
    fingerprint: bytes
    organization_id: str
    created_at_ms: int


class Verdict(Enum):
    NEW = "new"  # publish it
    REPLAY = "replay"  # same key, same body, already acked: answer the original id
    CONFLICT = "conflict"  # same key, different body: 409
    IN_FLIGHT = "in_flight"  # same key being published right now: wait for that publish


class IdempotencyTable:
    """(organization, key) -> Accepted, least recently used dropped beyond `capacity`.

    Also indexes message_id -> Accepted so GET can answer "accepted" for a message this worker
    took before the streams' state catches up.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._capacity = capacity
        self._by_key: OrderedDict[tuple[str, str], Accepted] = OrderedDict()
        self._by_id: dict[str, Accepted] = {}
        self._in_flight: dict[tuple[str, str], tuple[bytes, asyncio.Future[None]]] = {}

    def __len__(self) -> int:
        return len(self._by_key)

    def check(self, organization_id: str, key: str, fingerprint: bytes) -> tuple[Verdict, Accepted | None]:
        k = (organization_id, key)
        seen = self._by_key.get(k)
        if seen is not None:
            self._by_key.move_to_end(k)
            return (Verdict.REPLAY if seen.fingerprint == fingerprint else Verdict.CONFLICT), seen
        flying = self._in_flight.get(k)
        if flying is not None:
            return (Verdict.IN_FLIGHT if flying[0] == fingerprint else Verdict.CONFLICT), None
        return Verdict.NEW, None

    def begin(self, organization_id: str, key: str, fingerprint: bytes) -> asyncio.Future[None]:
        """Mark a publish in flight; concurrent duplicates await the returned future."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._in_flight[(organization_id, key)] = (fingerprint, fut)
        return fut

    def finish(self, organization_id: str, key: str, accepted: Accepted | None) -> None:
        """The publish ended: remember it if the broker acked (`accepted`), forget it otherwise."""
        flying = self._in_flight.pop((organization_id, key), None)
        if accepted is not None:
            self._remember(organization_id, key, accepted)
        if flying is not None and not flying[1].done():
            flying[1].set_result(None)

    def in_flight(self, organization_id: str, key: str) -> asyncio.Future[None] | None:
        flying = self._in_flight.get((organization_id, key))
        return None if flying is None else flying[1]

    def accepted(self, message_id: str) -> Accepted | None:
        return self._by_id.get(message_id)

    def _remember(self, organization_id: str, key: str, accepted: Accepted) -> None:
        k = (organization_id, key)
        self._by_key[k] = accepted
        self._by_key.move_to_end(k)
        self._by_id[accepted.message_id] = accepted
        while len(self._by_key) > self._capacity:
            _, old = self._by_key.popitem(last=False)
            self._by_id.pop(old.message_id, None)
